// Leak events as NDJSON lines without building a Json object per packet: the same bytes as
// leakJson(e).dump(), several times faster, for captures with many leaks (monitor_events_test
// compares the two byte for byte); and as text lines, the same bytes as leakText(e). A line is
// written straight into the caller's output buffer (FdOutput), with no string in between.
//
// What repeats from leak to leak is formatted once and copied: the line's start up to the
// second of its timestamp, the source name's part, the text of recently seen addresses, the
// fragments around protocol and reason names. The copies are of fixed sizes (a few vector moves
// each, no memcpy call), which is why the room a line asks for includes scratch bytes past it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/events.hpp"
#include "monitor/monitor.hpp"

namespace vpnleak::monitor {

struct LineNames;  // event_line.cpp: tables of the fragments around protocol and reason names

class LeakLineWriter {
 public:
  LeakLineWriter();

  // The room write(out, e) needs: an upper bound of the line, its newline and scratch bytes.
  std::size_t maxSize(const LeakEvent& e);
  // Writes the line for e and a newline at out, which has maxSize(e) bytes of room; returns the
  // end of what it wrote.
  char* write(char* out, const LeakEvent& e);
  // The line for e (without the newline), valid until the next call: for tests.
  const std::string& line(const LeakEvent& e);

  // The same for the text output (leakText(e)).
  std::size_t maxTextSize(const LeakEvent& e);
  char* writeText(char* out, const LeakEvent& e);

 private:
  // The text of an address (IpAddress::toString()) from the cache of recent addresses: writes up
  // to kAddressMaxSize bytes at out (the text, then scratch) and returns the text's end.
  char* putAddress(char* out, const core::IpAddress& a);
  // A direct-mapped cache of address texts, keyed by the address bytes; an empty slot holds the
  // text of the zero address, so no slot is ever invalid.
  struct V4Text {
    std::uint32_t key = 0;
    std::uint32_t size = 0;
    std::array<char, 16> text{};
  };
  struct V6Text {
    std::array<std::uint64_t, 2> key{};
    std::size_t size = 0;
    std::array<char, kAddressMaxSize> text{};
  };

  // Inline: runs twice a line; a source's parts are made again only when the name changes.
  void setSource(std::string_view source) {
    if (!sameBytes(source, source_)) changeSource(source);
  }
  void changeSource(std::string_view source);
  static bool sameBytes(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    std::size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
      std::uint64_t x = 0;
      std::uint64_t y = 0;
      std::memcpy(&x, a.data() + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      if (x != y) return false;
    }
    for (; i < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  void setSecond(std::int64_t ns);
  std::uint32_t micros(std::int64_t ns) {
    // Unsigned: a timestamp far from the cached second must not overflow.
    auto into = static_cast<std::uint64_t>(ns) - static_cast<std::uint64_t>(second_ns_);
    if (into >= 1'000'000'000) {
      setSecond(ns);
      into = static_cast<std::uint64_t>(ns) - static_cast<std::uint64_t>(second_ns_);
    }
    return static_cast<std::uint32_t>(into / 1000);
  }
  // The line's start: head (the cached start, up to the second of ts; its first head_size bytes
  // are the text), the microseconds, the source's part.
  template <std::size_t N>
  char* putStart(char* out, const std::array<char, N>& head, std::size_t head_size,
                 const std::vector<char>& source, std::size_t source_size, Timestamp ts);
  char* putQuotedAddress(char* out, const core::IpAddress& a);
  char* putHostPort(char* out, const core::IpAddress& a, bool ports, std::uint16_t port);

  const LineNames* names_;
  std::string out_;  // line()'s
  // The source: its name, and what follows the microseconds up to it in each line
  // (`Z","iface":"NAME"` and `Z NAME `), padded so that short ones are copied at a fixed size.
  std::string source_;
  std::vector<char> json_source_, text_source_;
  std::size_t json_source_size_ = 0, text_source_size_ = 0;
  // The second of the last timestamp (its first nanosecond) and the lines' starts up to it:
  // `{"type":"leak","ts":"YYYY-MM-DDTHH:MM:SS.` and `leak   YYYY-MM-DDTHH:MM:SS.`.
  std::int64_t second_ns_ = 0;
  std::array<char, 48> json_head_{};
  std::array<char, 32> text_head_{};
  std::array<V4Text, 64> v4_{};
  std::array<V6Text, 16> v6_{};
};

}  // namespace vpnleak::monitor
