#include "wire/http_host.hpp"

#include <array>

namespace vpnleak::wire::http {

namespace {

constexpr std::size_t kMaxRequestLine = 8192;  // what common servers accept; bounds the scan

constexpr std::array<std::string_view, 9> kMethods{"GET",     "POST",  "HEAD",  "PUT",    "DELETE",
                                                   "OPTIONS", "PATCH", "TRACE", "CONNECT"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  return v;
}

}  // namespace

std::optional<RequestHead> parseRequestHead(Bytes payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  const auto sp = text.find(' ');
  if (sp == std::string_view::npos || sp > 7) return std::nullopt;
  RequestHead head;
  for (auto m : kMethods) {
    if (text.substr(0, sp) == m) head.method = m;
  }
  if (head.method.empty()) return std::nullopt;
  const auto eol = text.find("\r\n");
  if (eol == std::string_view::npos || eol > kMaxRequestLine) return std::nullopt;
  const auto line = text.substr(0, eol);
  const auto version = line.rfind(' ');
  if (version == sp || line.substr(version + 1).substr(0, 7) != "HTTP/1.") return std::nullopt;
  // Header lines up to the blank line or the end of the segment (a cut line is ignored).
  for (std::size_t pos = eol + 2; pos < text.size();) {
    const auto end = text.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    const auto field = text.substr(pos, end - pos);
    const auto colon = field.find(':');
    if (colon != std::string_view::npos && iequals(field.substr(0, colon), "host")) {
      head.host = trim(field.substr(colon + 1));
      break;
    }
    pos = end + 2;
  }
  return head;
}

}  // namespace vpnleak::wire::http
