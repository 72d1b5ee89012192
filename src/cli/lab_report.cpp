#include "cli/lab_report.hpp"

#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/app.hpp"
#include "lab/assessment.hpp"
#include "lab/checkpoints.hpp"
#include "lab/plan.hpp"
#include "lab/verdict.hpp"
#include "report/html.hpp"
#include "report/junit.hpp"

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
      << t["client_iface"].get<std::string>() << " -> " << t["endpoint"].get<std::string>();
  if (t.contains("fwmark") && !t["fwmark"].is_null()) out << ", fwmark " << t["fwmark"];
  out << ", " << (t.value("ipv6", false) ? "IPv4+IPv6" : "IPv4 only");
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

namespace {

std::string fmtMs(const core::Json& stats, const char* key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", stats.value(key, 0.0));
  return buf;
}

std::vector<std::string> splitIds(const std::string& text) {
  std::vector<std::string> ids;
  std::string cur;
  for (const char c : text + ",") {
    if (c == ',') {
      if (!cur.empty()) ids.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return ids;
}

std::string summaryLine(const core::Json& doc) {
  const auto& s = doc["summary"];
  return std::to_string(s.value("cases", 0)) + " cases: " + std::to_string(s.value("pass", 0)) +
         " pass, " + std::to_string(s.value("leak", 0)) + " leak (guard off, expected), " +
         std::to_string(s.value("fail", 0)) + " fail (guard on leaked), " +
         std::to_string(s.value("not_reproduced", 0)) + " not reproduced, " +
         std::to_string(s.value("error", 0)) + " error; " + std::to_string(doc.value("runs", 0)) +
         " runs each, " + std::to_string(doc.value("duration_ms", 0LL) / 1000) + " s";
}

// "dns 120, ipv6 3": the counted leaks per class, non-zero ones only; "-" for none.
std::string byClassText(const core::Json& r) {
  std::string s;
  const auto counts = r.value("leaks_by_class", core::Json::object());
  for (const auto& [cls, n] : counts.items()) {
    if (n.get<std::uint64_t>() > 0) s += (s.empty() ? "" : ", ") + cls + " " + n.dump();
  }
  return s.empty() ? "-" : s;
}

// One line for a defined point's command (checkpoints.hpp); empty when it did not run.
std::string pointText(const core::Json& r, const char* point, const char* command) {
  const auto p = r.value("points", core::Json::object());
  if (!p.contains(point) || !p[point].is_object() || !p[point].contains(command)) return "";
  const auto& c = p[point][command];
  return std::string(command) == "test" ? lab::testLine(c) : lab::auditLine(c);
}

std::string pointsBlock(const core::Json& r) {
  std::string s;
  for (const auto& [point, command] :
       {std::pair{"steady", "audit"}, std::pair{"steady", "test"}, std::pair{"fault", "audit"}}) {
    const auto line = pointText(r, point, command);
    if (!line.empty()) s += std::string(point) + " " + command + ": " + line + "\n";
  }
  return s;
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

}  // namespace

void printAssessment(const core::Json& doc, std::ostream& out) {
  out << std::left << std::setw(18) << "SCENARIO" << std::setw(7) << "GUARD" << std::setw(16)
      << "VERDICT" << std::right << std::setw(8) << "LEAKED" << std::setw(10) << "MEDIAN_MS"
      << std::setw(8) << "P95_MS" << std::setw(8) << "MAX_MS"
      << "  BY CLASS\n";
  for (const auto& s : doc["scenarios"]) {
    for (const auto& r : s["results"]) {
      out << std::left << std::setw(18) << s["id"].get<std::string>() << std::setw(7)
          << r.value("guard", "?") << std::setw(16) << r.value("verdict", "error") << std::right
          << std::setw(8) << r.value("leaked_packets", 0ULL);
      if (r.contains("window_ms")) {
        out << std::setw(10) << fmtMs(r["window_ms"], "median") << std::setw(8)
            << fmtMs(r["window_ms"], "p95") << std::setw(8) << fmtMs(r["window_ms"], "max");
      }
      if (r.contains("leaks_by_class")) out << "  " << byClassText(r);
      if (r.contains("error")) out << "  " << r["error"].get<std::string>();
      out << "\n";
    }
  }
  out << "\nAt the defined points (steady: after setup and guard; fault: inside the first one):\n";
  for (const auto& s : doc["scenarios"]) {
    for (const auto& r : s["results"]) {
      const auto block = pointsBlock(r);
      if (block.empty()) continue;
      out << s["id"].get<std::string>() << " guard " << r.value("guard", "?") << "\n";
      std::istringstream lines(block);
      for (std::string l; std::getline(lines, l);) out << "  " << l << "\n";
    }
  }
  out << "\n"
      << summaryLine(doc) << "\n"
      << "Windows: ms from the fault to the last leaked packet of each run (median/p95/max).\n";
}

std::string assessmentJunit(const core::Json& doc) {
  std::vector<report::JunitCase> cases;
  for (const auto& s : doc["scenarios"]) {
    for (const auto& r : s["results"]) {
      report::JunitCase c;
      const auto guard = r.value("guard", "?");
      const auto verdict = r.value("verdict", "error");
      c.name = s["id"].get<std::string>() + " guard " + guard;
      c.classname = "vpnleak.lab.run";
      c.seconds = static_cast<double>(r.value("duration_ms", 0LL)) / 1000.0;
      const auto leaked = std::to_string(r.value("leaked_packets", 0ULL));
      if (verdict == "error") {
        c.status = "error";
        c.message = r.value("error", "the scenario did not run");
      } else if (verdict == "fail") {
        c.status = "leak";
        c.message = leaked + " packets leaked with the guard on (" + byClassText(r) + ")";
      } else if (verdict == "not-reproduced") {
        c.status = "leak";
        c.message = "expected a leak with the guard off, none seen: the lab did not reproduce it";
      } else {
        c.status = "pass";
        c.message = verdict == "leak" ? "finding (guard off): " + leaked + " packets leaked (" +
                                            byClassText(r) + ")"
                                      : "no leaked packets";
      }
      // A passing testcase has no message in JUnit: the output says what was found.
      c.output = c.message + "\n";
      if (r.contains("evidence")) {
        for (const auto& e : r["evidence"]) c.output += e.get<std::string>() + "\n";
      }
      // The leaked packets (--pcap-dir), also as an attachment in the form Jenkins' JUnit
      // attachments and GitLab's test reports pick up from system-out.
      if (r.contains("pcap")) {
        const auto pcap = r["pcap"].get<std::string>();
        c.output += "leaked packets: " + pcap + "\n[[ATTACHMENT|" + pcap + "]]\n";
      }
      c.output += pointsBlock(r);
      cases.push_back(std::move(c));
    }
  }
  return report::junitXml("vpnleak lab run", cases);
}

namespace {

// A path as a URL path: every octet but the unreserved ones and '/' percent-encoded (so that
// '#', '?', '%' or a ':' in a first segment cannot change what the link means).
std::string urlPath(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// A link to FILE from a page at HTML_PATH: relative when both are known, else file://.
std::string linkFrom(const std::string& html_path, const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!html_path.empty()) {
    const auto dir = fs::absolute(html_path, ec).lexically_normal().parent_path();
    const auto rel = fs::path(file).lexically_normal().lexically_relative(dir);
    if (!ec && !rel.empty()) return urlPath(rel.string());
  }
  return "file://" + urlPath(fs::path(file).lexically_normal().string());
}

}  // namespace

std::string assessmentHtml(const core::Json& doc, const std::string& html_path) {
  std::vector<report::HtmlRow> rows;
  for (const auto& s : doc["scenarios"]) {
    for (const auto& r : s["results"]) {
      report::HtmlRow row;
      row.scenario = s["id"].get<std::string>();
      row.description = s.value("description", "");
      row.guard = r.value("guard", "?");
      row.verdict = r.value("verdict", "error");
      row.leaked = r.value("leaked_packets", 0ULL);
      if (r.contains("window_ms")) {
        row.median_ms = r["window_ms"].value("median", 0.0);
        row.p95_ms = r["window_ms"].value("p95", 0.0);
        row.max_ms = r["window_ms"].value("max", 0.0);
      }
      if (r.contains("runs")) {
        for (const auto& run : r["runs"]) {
          if (run["first_ms"].is_null() || run["last_ms"].is_null()) continue;
          row.windows.push_back({run["first_ms"].get<double>(), run["last_ms"].get<double>()});
        }
      }
      row.note = r.value("error", "");
      if (r.contains("pcap")) row.pcap = linkFrom(html_path, r["pcap"].get<std::string>());
      if (r.contains("leaks_by_class")) row.by_class = byClassText(r);
      for (const auto& e : r.value("evidence", core::Json::array())) {
        row.evidence.push_back(e.get<std::string>());
      }
      row.steady_audit = pointText(r, "steady", "audit");
      row.steady_test = pointText(r, "steady", "test");
      row.fault_audit = pointText(r, "fault", "audit");
      rows.push_back(std::move(row));
    }
  }
  return report::runReportHtml("vpnleak lab run (" + doc.value("vpn", "wireguard") + ")",
                               summaryLine(doc), rows);
}

int runLabAssessment(const RunArgs& a) {
  lab::AssessmentOptions ao;
  ao.prefix = a.prefix;
  ao.scenarios = splitIds(a.scenarios);
  ao.runs = a.runs;
  ao.keep = a.keep;
  ao.vpn_cmd = a.vpn_cmd;
  ao.vpn_down_cmd = a.vpn_down_cmd;
  ao.vpn = a.vpn;
  ao.pcap_dir = a.pcap_dir;
  // Children's exit codes are read (the monitor's): an inherited SIGCHLD=SIG_IGN would hide them.
  std::signal(SIGCHLD, SIG_DFL);
  std::error_code ec;
  ao.self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (auto st = lab::validate(ao); !st) return fail(2, st.error().message());
  if (!a.quiet) {
    ao.progress = [](const std::string& line) { std::cerr << "[lab run] " << line << std::endl; };
  }
  auto doc = lab::runAssessment(ao);
  if (!doc) return fail(doc.error().exitCode(), doc.error().message());
  if (a.json) {
    std::cout << doc->dump(2) << "\n";
  } else {
    printAssessment(*doc, std::cout);
  }
  if (!a.junit.empty() && !writeFile(a.junit, assessmentJunit(*doc))) {
    return fail(3, "cannot write the JUnit report to " + a.junit);
  }
  if (!a.html.empty() && !writeFile(a.html, assessmentHtml(*doc, a.html))) {
    return fail(3, "cannot write the HTML report to " + a.html);
  }
  return lab::exitCodeFor(*doc);
}

}  // namespace vpnleak::cli
