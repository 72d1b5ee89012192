// `lab run`'s reports: the text table, JUnit (guard-off leaks are findings, not failures) and the
// self-contained HTML with its SVG timeline.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/lab_report.hpp"
#include "report/html.hpp"

namespace vpnleak::cli {
namespace {

core::Json sampleDoc() {
  return core::parseJson(R"({"schema":"vpnleak.run/1","prefix":"vl-","vpn":"wireguard","runs":2,
    "scenarios":[{"id":"reconnect","description":"tunnel <drops>","leaks_without_guard":true,
      "results":[
        {"guard":"off","verdict":"leak","leaked_packets":12,
         "runs":[{"run":1,"leaked":7,"first_ms":3.0,"last_ms":900.5},
                 {"run":2,"leaked":5,"first_ms":4.0,"last_ms":1100.0}],
         "first_ms":{"median":3.5,"p95":4,"max":4},
         "window_ms":{"median":1000.2,"p95":1100,"max":1100},"duration_ms":5000,
         "leaks_by_class":{"dns":0,"stun":0,"tunnel-misdirected":0,"ipv6":2,"ipv4":10,"other":0},
         "evidence":["ipv4 icmp 192.168.77.2 > 192.0.2.10 at 2023-11-14T22:13:20Z"],
         "pcap":"/srv/out/pcap/reconnect-guard-off.pcapng",
         "points":{
  "steady" : {
    "audit" : {"exit_code" : 1, "findings" : [ {"id" : "no-killswitch", "severity" : "high"} ]},
    "test" : {
      "exit_code" : 1,
      "verdict" : "leak",
      "checks" : [ {"id" : "killswitch", "status" : "leak", "explanation" : "x"} ]
    }
  },
             "fault" : {
    "audit" : { "error" : "audit timed out" }
  }}},
        {"guard":"on","verdict":"fail","leaked_packets":1,
         "leaks_by_class":{"dns":1,"stun":0,"tunnel-misdirected":0,"ipv6":0,"ipv4":0,"other":0},
         "runs":[{"run":1,"leaked":1,"first_ms":50.0,"last_ms":50.0},
                 {"run":2,"leaked":0,"first_ms":null,"last_ms":null}],
         "first_ms":{"median":50,"p95":50,"max":50},
         "window_ms":{"median":50,"p95":50,"max":50},"duration_ms":5000}]
},
     {"id":"dns-isp","description":"isp","leaks_without_guard":true,
      "results":[{"guard":"off","verdict":"error","error":"lab up: boom","duration_ms":10},
                 {"guard":"on","verdict":"pass","leaked_packets":0,"runs":[],
                  "first_ms":{"median":0,"p95":0,"max":0},
                  "window_ms":{"median":0,"p95":0,"max":0},"duration_ms":10}]}],
    "summary":{"cases":4,"pass":1,"leak":1,"fail":1,"not_reproduced":0,"error":1},
    "duration_ms":10020
})",
                         "sample")
      .value();
}

TEST(LabRunReport, TextTableHasOneRowPerScenarioAndGuard) {
  std::ostringstream out;
  printAssessment(sampleDoc(), out);
  const auto text = out.str();
  EXPECT_NE(text.find("SCENARIO"), std::string::npos);
  EXPECT_NE(text.find("reconnect         off    leak"), std::string::npos) << text;
  EXPECT_NE(text.find("reconnect         on     fail"), std::string::npos) << text;
  EXPECT_NE(text.find("1000"), std::string::npos);
  EXPECT_NE(text.find("lab up: boom"), std::string::npos);
  EXPECT_NE(text.find("4 cases"), std::string::npos);
  EXPECT_NE(text.find("ipv6 2, ipv4 10"), std::string::npos) << text;
  EXPECT_NE(text.find("steady audit: no-killswitch(high)"), std::string::npos) << text;
  EXPECT_NE(text.find("steady test: killswitch=leak"), std::string::npos) << text;
  EXPECT_NE(text.find("fault audit: error: audit timed out"), std::string::npos) << text;
}

TEST(LabRunReport, JunitFailsOnlyGuardOnLeaksAndErrors) {
  const auto xml = assessmentJunit(sampleDoc());
  EXPECT_NE(xml.find("reconnect guard off"), std::string::npos);
  EXPECT_NE(xml.find("reconnect guard on"), std::string::npos);
  EXPECT_NE(xml.find("tests=\"4\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("errors=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("1 packets leaked with the guard on (dns 1)"), std::string::npos) << xml;
  EXPECT_NE(xml.find("finding (guard off): 12 packets leaked (ipv6 2, ipv4 10)"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("ipv4 icmp 192.168.77.2 &gt; 192.0.2.10"), std::string::npos) << xml;
  EXPECT_NE(xml.find("steady test: killswitch=leak"), std::string::npos) << xml;
  // The mode's pcap file, named and attached; a mode without one attaches nothing.
  EXPECT_NE(xml.find("leaked packets: /srv/out/pcap/reconnect-guard-off.pcapng\n[[ATTACHMENT|"
                     "/srv/out/pcap/reconnect-guard-off.pcapng]]"),
            std::string::npos)
      << xml;
  std::size_t attachments = 0;
  for (auto p = xml.find("[[ATTACHMENT|"); p != std::string::npos;
       p = xml.find("[[ATTACHMENT|", p + 1)) {
    ++attachments;
  }
  EXPECT_EQ(attachments, 1U);
}

TEST(LabRunReport, HtmlIsSelfContainedWithATimeline) {
  const auto html = assessmentHtml(sampleDoc());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("tunnel &lt;drops&gt;"), std::string::npos);  // escaped
  std::size_t bars = 0;
  for (auto p = html.find("class=\"window\""); p != std::string::npos;
       p = html.find("class=\"window\"", p + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 3U);  // two guard-off runs, one guard-on run
  EXPECT_NE(html.find("<td>ipv6 2, ipv4 10</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>dns 1</td>"), std::string::npos);
  EXPECT_NE(html.find("Audit and test at defined points"), std::string::npos);
  EXPECT_NE(html.find("<td>no-killswitch(high)</td><td>killswitch=leak</td>"), std::string::npos);
  EXPECT_NE(html.find("first leaked packets"), std::string::npos);
  // The mode's pcap file (--pcap-dir): relative to the page when its place is known.
  EXPECT_NE(html.find("<a href=\"file:///srv/out/pcap/reconnect-guard-off.pcapng\">"),
            std::string::npos);
  const auto placed = assessmentHtml(sampleDoc(), "/srv/out/report.html");
  EXPECT_NE(placed.find("<a href=\"pcap/reconnect-guard-off.pcapng\">leaked packets (pcapng)"),
            std::string::npos);
  EXPECT_NE(assessmentHtml(sampleDoc(), "/srv/elsewhere/r.html")
                .find("<a href=\"../out/pcap/reconnect-guard-off.pcapng\">"),
            std::string::npos);
  EXPECT_NE(assessmentHtml(sampleDoc(), "/srv/out/../elsewhere/r.html")
                .find("<a href=\"../out/pcap/reconnect-guard-off.pcapng\">"),
            std::string::npos);
  // Characters that would change what a URL means are percent-encoded; a mode without evidence
  // lines still links its file.
  auto odd = sampleDoc();
  odd["scenarios"][0]["results"][0]["pcap"] = "/srv/a#b?c%d/x y.pcapng";
  odd["scenarios"][0]["results"][1]["pcap"] = "/srv/out/pcap/reconnect-guard-on.pcapng";
  const auto encoded = assessmentHtml(odd, "/srv/r.html");
  EXPECT_NE(encoded.find("<a href=\"a%23b%3Fc%25d/x%20y.pcapng\">"), std::string::npos);
  EXPECT_NE(encoded.find("<a href=\"out/pcap/reconnect-guard-on.pcapng\">"), std::string::npos);
}

TEST(LabRunReport, TimelineScalesToTheLongestWindow) {
  report::HtmlRow r;
  r.scenario = "s";
  r.guard = "off";
  r.verdict = "leak";
  r.windows = {{0, 2300}};
  const auto svg = report::timelineSvg({r});
  EXPECT_NE(svg.find("3000.0 ms"), std::string::npos) << svg;
  report::HtmlRow empty = r;
  empty.windows.clear();
  empty.verdict = "pass";
  EXPECT_NE(report::timelineSvg({empty}).find("no leaked packets"), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::cli
