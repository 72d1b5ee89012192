// Hand-built netlink messages for the netlink unit tests, written with libmnl as the kernel
// would lay them out.
#pragma once

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/ip.hpp"

namespace vpnleak::netlink::testmsg {

class Msg {
 public:
  explicit Msg(std::uint16_t type, std::uint16_t flags = 0, std::uint32_t seq = 0) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = flags;
    nlh_->nlmsg_seq = seq;
  }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;

  template <typename T>
  T& header() {
    return *static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }
  Msg& u8(std::uint16_t type, std::uint8_t v) {
    mnl_attr_put_u8(nlh_, type, v);
    return *this;
  }
  Msg& u16(std::uint16_t type, std::uint16_t v) {
    mnl_attr_put_u16(nlh_, type, v);
    return *this;
  }
  Msg& u32(std::uint16_t type, std::uint32_t v) {
    mnl_attr_put_u32(nlh_, type, v);
    return *this;
  }
  Msg& str(std::uint16_t type, const std::string& s) {
    mnl_attr_put_strz(nlh_, type, s.c_str());
    return *this;
  }
  Msg& bytes(std::uint16_t type, std::initializer_list<std::uint8_t> b) {
    const std::vector<std::uint8_t> v(b);
    mnl_attr_put(nlh_, type, v.size(), v.data());
    return *this;
  }
  Msg& raw(std::uint16_t type, const void* data, std::size_t len) {
    mnl_attr_put(nlh_, type, len, data);
    return *this;
  }
  // An address attribute from its text form ("10.0.0.1", "fd00::1").
  Msg& addr(std::uint16_t type, const std::string& text) {
    auto a = core::IpAddress::parse(text).value();
    mnl_attr_put(nlh_, type, a.bytes().size(), a.bytes().data());
    return *this;
  }
  nlattr* nestStart(std::uint16_t type) { return mnl_attr_nest_start(nlh_, type); }
  void nestEnd(nlattr* nest) { mnl_attr_nest_end(nlh_, nest); }

  nlmsghdr& nlh() { return *nlh_; }
  [[nodiscard]] std::vector<std::uint8_t> wire() const {
    const auto* p = reinterpret_cast<const std::uint8_t*>(nlh_);
    return {p, p + nlh_->nlmsg_len};
  }

 private:
  alignas(nlmsghdr) std::array<std::uint8_t, 4096> buf_{};
  nlmsghdr* nlh_ = nullptr;
};

// Several messages back to back, as one datagram.
inline std::vector<std::uint8_t> datagram(std::initializer_list<const Msg*> msgs) {
  std::vector<std::uint8_t> out;
  for (const Msg* m : msgs) {
    auto w = m->wire();
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

}  // namespace vpnleak::netlink::testmsg
