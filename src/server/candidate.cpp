#include "server/candidate.hpp"

#include <algorithm>
#include <charconv>

namespace vpnleak::server {

namespace {

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < 64) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool number(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::optional<core::IpAddress> ipOf(std::string_view text) {
  auto a = core::IpAddress::parse(text);
  if (!a) return std::nullopt;
  return *a;
}

void addUnique(std::vector<core::IpAddress>& v, const core::IpAddress& a) {
  if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
}

}  // namespace

core::Result<Candidate> parseCandidate(std::string_view line) {
  auto bad = [&](const char* why) {
    return core::makeError(core::Errc::kMalformed, std::string("ICE candidate: ") + why + ": '" +
                                                       std::string(line.substr(0, 120)) + "'");
  };
  if (line.starts_with("a=")) line.remove_prefix(2);
  if (!line.starts_with("candidate:")) return bad("does not start with 'candidate:'");
  line.remove_prefix(10);
  const auto f = fields(line);
  if (f.size() < 8 || f[6] != "typ") return bad("missing fields");
  Candidate c;
  c.foundation = std::string(f[0]);
  std::uint32_t priority = 0;
  if (!number(f[1], c.component) || !number(f[3], priority))
    return bad("bad component or priority");
  c.protocol = std::string(f[2]);
  std::transform(c.protocol.begin(), c.protocol.end(), c.protocol.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  c.address = std::string(f[4]);
  if (!number(f[5], c.port)) return bad("bad port");
  c.type = std::string(f[7]);
  for (std::size_t i = 8; i + 1 < f.size(); i += 2) {
    if (f[i] == "raddr") c.related_address = std::string(f[i + 1]);
  }
  c.ip = ipOf(c.address);
  if (!c.related_address.empty()) c.related_ip = ipOf(c.related_address);
  return c;
}

WebrtcVerdict judgeWebrtc(const std::vector<Candidate>& candidates,
                          const std::vector<core::IpAddress>& http_addresses) {
  WebrtcVerdict v;
  for (const auto& c : candidates) {
    for (const auto& ip : {c.ip, c.related_ip}) {
      if (ip && ip->isGlobalUnicast()) addUnique(v.public_addresses, *ip);
    }
  }
  for (const auto& a : v.public_addresses) {
    if (std::find(http_addresses.begin(), http_addresses.end(), a) == http_addresses.end()) {
      v.leaked.push_back(a);
    }
  }
  v.leak = !v.leaked.empty();
  return v;
}

}  // namespace vpnleak::server
