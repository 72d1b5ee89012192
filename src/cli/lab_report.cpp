#include "cli/lab_report.hpp"

#include <unistd.h>

#include <iomanip>
#include <iostream>

#include "cli/app.hpp"
#include "lab/assessment.hpp"
#include "lab/plan.hpp"

namespace vpnleak::cli {

void printLabStatus(const core::Json& doc, std::ostream& out) {
  const std::string prefix = doc.value("prefix", "");
  if (!doc.value("up", false)) {
    out << "lab " << prefix << " is down"
        << (doc.value("leftovers", false) ? " (leftovers present: run 'vpnleak lab down')" : "")
        << "\n";
    return;
  }
  out << "lab " << prefix << " is up (zone " << doc["zone"].get<std::string>() << ")\n";
  for (const auto& n : doc["nodes"]) {
    out << "  " << std::left << std::setw(9) << n["role"].get<std::string>() << std::setw(13)
        << n["netns"].get<std::string>();
    bool first = true;
    for (const auto& i : n["interfaces"]) {
      out << (first ? "" : "  ") << i["name"].get<std::string>() << " ";
      std::string addrs;
      for (const auto& a : i["addresses"])
        addrs += (addrs.empty() ? "" : ",") + a.get<std::string>();
      out << addrs;
      first = false;
    }
    out << (n.value("present", true) ? "" : "  [MISSING]") << "\n";
  }
  const auto& t = doc["tunnel"];
  out << "  tunnel   " << t.value("kind", "") << " (" << t.value("impl", "?") << ") "
      << t["client_iface"].get<std::string>() << " -> " << t["endpoint"].get<std::string>()
      << ", fwmark " << t["fwmark"] << ", " << (t.value("ipv6", false) ? "IPv4+IPv6" : "IPv4 only");
  if (t.contains("last_handshake_s") && !t["last_handshake_s"].is_null()) {
    out << ", handshake " << t["last_handshake_s"] << " s ago";
  }
  out << "\n  dns      " << doc["dns"]["mode"].get<std::string>() << " resolver "
      << doc["dns"]["client_resolvers"].dump() << "\n";
  if (doc["server"].contains("url") && !doc["server"]["url"].is_null()) {
    out << "  server   " << doc["server"]["url"].get<std::string>()
        << " (vpnleak server: HTTP, DNS for the zone, STUN)\n";
  }
  out << "  exit     " << doc["expected_exit"]["ipv4"].get<std::string>() << " / "
      << (doc["expected_exit"]["ipv6"].is_null() ? std::string("no IPv6 exit")
                                                 : doc["expected_exit"]["ipv6"].get<std::string>())
      << "  (client's real: " << doc["client_real"]["ipv4"].get<std::string>() << " / "
      << doc["client_real"]["ipv6"].get<std::string>() << ")\n";
}

void printAssessment(const core::Json& doc, std::ostream& out) {
  out << std::left << std::setw(13) << "SCENARIO" << std::setw(13) << "CHECK" << std::setw(8)
      << "VERDICT"
      << "DETAIL\n";
  for (const auto& s : doc["scenarios"]) {
    for (const auto& c : s["checks"]) {
      out << std::setw(13) << s["id"].get<std::string>() << std::setw(13)
          << c["id"].get<std::string>() << std::setw(8) << c["verdict"].get<std::string>()
          << c["detail"].get<std::string>() << "\n";
    }
  }
  const auto& sum = doc["summary"];
  out << "\n"
      << sum["checks"] << " checks, " << sum["leaks"] << " leaks, " << sum["errors"]
      << " errors (no guard: the leaks show what the VPN alone lets out)\n";
}

int runLabAssessment(const std::string& prefix, bool json, bool keep) {
  lab::LabOptions o;
  o.prefix = prefix;
  if (auto st = lab::validate(o); !st) return fail(2, st.error().message());
  lab::AssessmentOptions ao;
  ao.prefix = prefix;
  ao.keep = keep;
  if (::isatty(STDERR_FILENO) != 0 || !json) {
    ao.progress = [](const std::string& line) { std::cerr << "[lab run] " << line << "\n"; };
  }
  auto doc = lab::runAssessment(ao);
  if (!doc) return fail(doc.error().exitCode(), doc.error().message());
  if (json) {
    std::cout << doc->dump(2) << "\n";
  } else {
    printAssessment(*doc, std::cout);
  }
  const int leaks = (*doc)["summary"]["leaks"].get<int>();
  const int errors = (*doc)["summary"]["errors"].get<int>();
  if (errors > 0) return 4;
  return leaks > 0 ? 1 : 0;
}

}  // namespace vpnleak::cli
