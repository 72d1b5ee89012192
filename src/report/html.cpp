#include "report/html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/junit.hpp"

namespace vpnleak::report {

namespace {

constexpr int kLabelWidth = 260;
constexpr int kPlotWidth = 640;
constexpr int kLane = 26;
constexpr int kTop = 30;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string colour(const std::string& verdict) {
  if (verdict == "pass") return "#2e7d32";
  if (verdict == "leak") return "#ef6c00";
  return "#c62828";  // fail, not-reproduced, error
}

// A round axis end at or above the longest window (at least 100 ms).
double axisMax(const std::vector<HtmlRow>& rows) {
  double m = 100;
  for (const auto& r : rows) {
    for (const auto& w : r.windows) m = std::max(m, w.last_ms);
  }
  const double step = std::pow(10.0, std::floor(std::log10(m)));
  return std::ceil(m / step) * step;
}

}  // namespace

std::string timelineSvg(const std::vector<HtmlRow>& rows) {
  const double axis = axisMax(rows);
  const int height = kTop + static_cast<int>(rows.size()) * kLane + 20;
  const int width = kLabelWidth + kPlotWidth + 50;  // room for the last axis label
  auto x = [&](double ms) { return kLabelWidth + ms / axis * kPlotWidth; };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                  "\" height=\"" + std::to_string(height) + "\" font-family=\"sans-serif\" " +
                  "font-size=\"12\" role=\"img\" aria-label=\"leak windows\">\n";
  for (int i = 0; i <= 4; ++i) {
    const double ms = axis * i / 4.0;
    s += "<line x1=\"" + num(x(ms)) + "\" y1=\"" + std::to_string(kTop - 6) + "\" x2=\"" +
         num(x(ms)) + "\" y2=\"" + std::to_string(height - 20) +
         "\" stroke=\"#ccc\"/>\n<text x=\"" + num(x(ms)) + "\" y=\"" + std::to_string(kTop - 10) +
         "\" text-anchor=\"middle\">" + num(ms) + " ms</text>\n";
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const int y = kTop + static_cast<int>(i) * kLane;
    s += "<text x=\"4\" y=\"" + std::to_string(y + 16) + "\">" +
         xmlEscape(r.scenario + " (guard " + r.guard + ")") + "</text>\n";
    s += "<rect x=\"" + std::to_string(kLabelWidth) + "\" y=\"" + std::to_string(y + 4) +
         "\" width=\"" + std::to_string(kPlotWidth) +
         "\" height=\"18\" fill=\"#f5f5f5\" stroke=\"#ddd\"/>\n";
    if (r.windows.empty()) {
      s += "<text x=\"" + std::to_string(kLabelWidth + 6) + "\" y=\"" + std::to_string(y + 17) +
           "\" fill=\"" + colour(r.verdict) + "\">" +
           (r.verdict == "error" ? "error" : "no leaked packets") + "</text>\n";
    }
    for (const auto& w : r.windows) {
      const double x0 = x(w.first_ms);
      const double wd = std::max(2.0, x(w.last_ms) - x0);
      s += "<rect class=\"window\" x=\"" + num(x0) + "\" y=\"" + std::to_string(y + 6) +
           "\" width=\"" + num(wd) + "\" height=\"14\" fill=\"" + colour(r.verdict) +
           "\" fill-opacity=\"0.45\"><title>" +
           xmlEscape(r.scenario + " guard " + r.guard + ": " + num(w.first_ms) + " - " +
                     num(w.last_ms) + " ms after the fault") +
           "</title></rect>\n";
    }
  }
  s += "</svg>\n";
  return s;
}

namespace {

std::string evidenceCell(const HtmlRow& r) {
  std::string h = xmlEscape(r.note.empty() ? r.description : r.note);
  if (!r.evidence.empty()) {
    h += "<details><summary>first leaked packets</summary><pre>";
    for (const auto& e : r.evidence) h += xmlEscape(e) + "\n";
    h += "</pre></details>";
  }
  if (!r.pcap.empty()) h += "<a href=\"" + xmlEscape(r.pcap) + "\">leaked packets (pcapng)</a>";
  return h;
}

std::string pointsTable(const std::vector<HtmlRow>& rows) {
  std::string h =
      "<h2>Audit and test at defined points</h2>\n<p>Steady state: after the setup and the "
      "guard, before the monitor starts (the test's probes are not counted). During the fault: "
      "inside the first fault's hold (the audit sends nothing).</p>\n<table>\n<tr><th>scenario"
      "</th><th>guard</th><th>steady: audit findings</th><th>steady: test checks</th>"
      "<th>first fault: audit findings</th></tr>\n";
  for (const auto& r : rows) {
    h += "<tr><td>" + xmlEscape(r.scenario) + "</td><td>" + xmlEscape(r.guard) + "</td><td>" +
         xmlEscape(r.steady_audit) + "</td><td>" + xmlEscape(r.steady_test) + "</td><td>" +
         xmlEscape(r.fault_audit) + "</td></tr>\n";
  }
  return h + "</table>\n";
}

}  // namespace

std::string runReportHtml(const std::string& title, const std::string& summary,
                          const std::vector<HtmlRow>& rows) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
      xmlEscape(title) +
      "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
      "text-align:left;vertical-align:top}td.n{text-align:right}.pass{color:#2e7d32}"
      ".leak{color:#ef6c00}.fail,.not-reproduced,.error{color:#c62828;font-weight:bold}"
      "pre{margin:4px 0;font-size:11px}</style></head>\n<body>\n<h1>" +
      xmlEscape(title) + "</h1>\n<p>" + xmlEscape(summary) +
      "</p>\n<table>\n<tr><th>scenario</th><th>guard</th><th>verdict</th><th>leaked packets</th>"
      "<th>by class</th><th>window median ms</th><th>p95 ms</th><th>max ms</th><th>what</th>"
      "</tr>\n";
  for (const auto& r : rows) {
    h += "<tr><td>" + xmlEscape(r.scenario) + "</td><td>" + xmlEscape(r.guard) +
         "</td><td class=\"" + xmlEscape(r.verdict) + "\">" + xmlEscape(r.verdict) +
         "</td><td class=\"n\">" + std::to_string(r.leaked) + "</td><td>" + xmlEscape(r.by_class) +
         "</td><td class=\"n\">" + num(r.median_ms) + "</td><td class=\"n\">" + num(r.p95_ms) +
         "</td><td class=\"n\">" + num(r.max_ms) + "</td><td>" + evidenceCell(r) + "</td></tr>\n";
  }
  h += "</table>\n" + pointsTable(rows) +
       "<h2>Leak windows</h2>\n<p>Each bar is one run: from the first to the last "
       "leaked packet, in ms after the fault.</p>\n" +
       timelineSvg(rows) + "</body></html>\n";
  return h;
}

}  // namespace vpnleak::report
