#include "server/metrics.hpp"

namespace vpnleak::server {

namespace {

void line(std::string& out, const char* name, const char* labels, std::uint64_t v) {
  out += name;
  if (labels[0] != '\0') {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

void help(std::string& out, const char* name, const char* type, const char* text) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += text;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

std::uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }

}  // namespace

std::string Metrics::render(std::int64_t store_tests) const {
  std::string o;
  o.reserve(4096);
  help(o, "vpnleak_dns_queries_total", "counter", "DNS queries received.");
  line(o, "vpnleak_dns_queries_total", "transport=\"udp\"", get(dns_queries[0]));
  line(o, "vpnleak_dns_queries_total", "transport=\"tcp\"", get(dns_queries[1]));
  help(o, "vpnleak_dns_responses_total", "counter", "DNS responses by rcode.");
  static constexpr const char* kRcodes[] = {"rcode=\"NOERROR\"",  "rcode=\"FORMERR\"",
                                            "rcode=\"SERVFAIL\"", "rcode=\"NXDOMAIN\"",
                                            "rcode=\"NOTIMP\"",   "rcode=\"REFUSED\""};
  for (std::size_t i = 0; i < dns_rcodes.size(); ++i) {
    line(o, "vpnleak_dns_responses_total", kRcodes[i], get(dns_rcodes[i]));
  }
  line(o, "vpnleak_dns_responses_total", "rcode=\"BADVERS\"", get(dns_badvers));
  help(o, "vpnleak_dns_malformed_total", "counter", "DNS datagrams dropped unanswered.");
  line(o, "vpnleak_dns_malformed_total", "", get(dns_malformed));
  help(o, "vpnleak_dns_rrl_total", "counter", "UDP responses withheld by rate limiting.");
  line(o, "vpnleak_dns_rrl_total", "action=\"drop\"", get(dns_rrl_dropped));
  line(o, "vpnleak_dns_rrl_total", "action=\"slip\"", get(dns_rrl_slipped));
  help(o, "vpnleak_dns_truncated_total", "counter", "UDP responses sent truncated (TC).");
  line(o, "vpnleak_dns_truncated_total", "", get(dns_truncated));
  help(o, "vpnleak_dns_tcp_rejected_total", "counter", "TCP connections over the limit.");
  line(o, "vpnleak_dns_tcp_rejected_total", "", get(dns_tcp_connections_rejected));
  help(o, "vpnleak_stun_requests_total", "counter", "STUN binding requests answered.");
  line(o, "vpnleak_stun_requests_total", "", get(stun_responses));
  help(o, "vpnleak_stun_ignored_total", "counter", "Datagrams on STUN ports left unanswered.");
  line(o, "vpnleak_stun_ignored_total", "", get(stun_ignored));
  help(o, "vpnleak_http_responses_total", "counter", "HTTP responses by status class.");
  static constexpr const char* kClasses[] = {
      "", "code=\"1xx\"", "code=\"2xx\"", "code=\"3xx\"", "code=\"4xx\"", "code=\"5xx\""};
  for (std::size_t i = 1; i < http_responses.size(); ++i) {
    line(o, "vpnleak_http_responses_total", kClasses[i], get(http_responses[i]));
  }
  help(o, "vpnleak_http_connections", "gauge", "Open HTTP connections.");
  line(o, "vpnleak_http_connections", "", get(http_connections_active));
  help(o, "vpnleak_http_rejected_total", "counter", "HTTP connections over the limit.");
  line(o, "vpnleak_http_rejected_total", "", get(http_connections_rejected));
  help(o, "vpnleak_tests_created_total", "counter", "Leak tests created.");
  line(o, "vpnleak_tests_created_total", "", get(tests_created));
  help(o, "vpnleak_observations_total", "counter", "Observations by outcome.");
  line(o, "vpnleak_observations_total", "outcome=\"recorded\"", get(observations_recorded));
  line(o, "vpnleak_observations_total", "outcome=\"dropped\"", get(observations_dropped));
  help(o, "vpnleak_store_errors_total", "counter", "Failed store operations.");
  line(o, "vpnleak_store_errors_total", "", get(store_errors));
  if (store_tests >= 0) {
    help(o, "vpnleak_store_tests", "gauge", "Live tests in the store.");
    line(o, "vpnleak_store_tests", "", static_cast<std::uint64_t>(store_tests));
  }
  return o;
}

}  // namespace vpnleak::server
