// Bounds-checked big-endian reading and writing over byte spans: the only way wire parsers touch
// untrusted bytes, so that every read is checked in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace vpnleak::wire {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

inline std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | p[3];
}
inline void store16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

// A read cursor: every accessor fails (returns false, cursor unchanged) instead of overrunning.
class Reader {
 public:
  explicit Reader(Bytes data, std::size_t pos = 0) : data_(data), pos_(pos) {}

  [[nodiscard]] std::size_t pos() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const {
    return pos_ <= data_.size() ? data_.size() - pos_ : 0;
  }
  [[nodiscard]] Bytes data() const { return data_; }

  bool u8(std::uint8_t& v) {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (remaining() < 2) return false;
    v = load16(data_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (remaining() < 4) return false;
    v = load32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool bytes(std::size_t n, Bytes& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool skip(std::size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  void seek(std::size_t pos) { pos_ = pos; }

 private:
  Bytes data_;
  std::size_t pos_;
};

// A write cursor over a caller-owned buffer. Writes past the end set a sticky overflow flag and
// write nothing, so a builder can attempt a whole record and roll back once.
class Writer {
 public:
  explicit Writer(MutableBytes out) : out_(out) {}

  [[nodiscard]] std::size_t size() const { return pos_; }
  [[nodiscard]] bool overflow() const { return overflow_; }
  [[nodiscard]] std::size_t capacity() const { return out_.size(); }
  [[nodiscard]] std::uint8_t* data() { return out_.data(); }
  [[nodiscard]] const std::uint8_t* data() const { return out_.data(); }

  // Shrinks back to an earlier size and clears the overflow flag.
  void truncate(std::size_t size) {
    if (size <= pos_) pos_ = size;
    overflow_ = false;
  }
  bool u8(std::uint8_t v) {
    if (!room(1)) return false;
    out_[pos_++] = v;
    return true;
  }
  bool u16(std::uint16_t v) {
    if (!room(2)) return false;
    store16(out_.data() + pos_, v);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t v) {
    if (!room(4)) return false;
    store32(out_.data() + pos_, v);
    pos_ += 4;
    return true;
  }
  bool bytes(Bytes b) {
    if (!room(b.size())) return false;
    if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
    return true;
  }
  bool zeros(std::size_t n) {
    if (!room(n)) return false;
    std::memset(out_.data() + pos_, 0, n);
    pos_ += n;
    return true;
  }
  // Overwrites two bytes already written (lengths and counts patched after the fact).
  void patch16(std::size_t at, std::uint16_t v) {
    if (at + 2 <= pos_) store16(out_.data() + at, v);
  }

 private:
  bool room(std::size_t n) {
    if (overflow_ || out_.size() - pos_ < n) {
      overflow_ = true;
      return false;
    }
    return true;
  }
  MutableBytes out_;
  std::size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace vpnleak::wire
