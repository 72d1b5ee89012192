#include "probe/resolve.hpp"

#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>

#include "core/sockaddr.hpp"

namespace vpnleak::probe {

namespace {

// One getaddrinfo_a request and everything it points to, kept at a stable address.
struct Request {
  std::string name;
  addrinfo hints{};
  gaicb cb{};
  bool started = false;
};

std::vector<core::IpAddress> addressesOf(const addrinfo* res) {
  std::vector<core::IpAddress> out;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
    const auto ip = core::fromSockaddr(ss).address;
    if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
  }
  return out;
}

}  // namespace

std::vector<Lookup> resolveAll(const std::vector<std::string>& names,
                               std::chrono::milliseconds spread, Deadline deadline) {
  std::vector<std::unique_ptr<Request>> reqs;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto r = std::make_unique<Request>();
    r->name = names[i];
    r->hints.ai_family = AF_UNSPEC;
    r->hints.ai_socktype = SOCK_STREAM;
    r->cb.ar_name = r->name.c_str();
    r->cb.ar_request = &r->hints;
    const auto at = start + spread * static_cast<long>(i) /
                                static_cast<long>(std::max<std::size_t>(1, names.size()));
    if (at > Clock::now()) std::this_thread::sleep_until(std::min(at, deadline));
    gaicb* list[] = {&r->cb};
    r->started = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr) == 0;
    reqs.push_back(std::move(r));
  }
  std::vector<Lookup> out;
  for (auto& r : reqs) {
    Lookup l{r->name, {}, {}};
    if (!r->started) {
      l.error = "could not start the lookup";
      out.push_back(l);
      continue;
    }
    const gaicb* wait[] = {&r->cb};
    int rc = ::gai_error(&r->cb);
    while (rc == EAI_INPROGRESS && msLeft(deadline) > 0) {
      const auto ms = msLeft(deadline);
      timespec ts{ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
      ::gai_suspend(wait, 1, &ts);
      rc = ::gai_error(&r->cb);
    }
    if (rc == EAI_INPROGRESS && ::gai_cancel(&r->cb) != EAI_CANCELED) {
      // glibc's resolver thread still owns the request and will write into it later; waiting
      // would break the deadline, so the request is left to it (a few hundred bytes, once).
      l.error = "timed out";
      (void)r.release();
      out.push_back(std::move(l));
      continue;
    }
    if (rc == EAI_INPROGRESS) {
      l.error = "timed out";
    } else if (rc == 0) {
      l.addresses = addressesOf(r->cb.ar_result);
    } else {
      l.error = ::gai_strerror(rc);
    }
    if (r->cb.ar_result != nullptr) ::freeaddrinfo(r->cb.ar_result);
    out.push_back(std::move(l));
  }
  return out;
}

core::Result<std::vector<core::IpAddress>> resolveHost(const std::string& host, Deadline deadline) {
  auto r = resolveAll({host}, std::chrono::milliseconds(0), deadline);
  if (r.empty() || r[0].addresses.empty()) {
    return core::makeError(
        core::Errc::kEnvironment,
        "cannot resolve the server name '" + host + "': " + (r.empty() ? "no answer" : r[0].error));
  }
  return r[0].addresses;
}

}  // namespace vpnleak::probe
