// DNS messages (RFC 1035) with EDNS(0) (RFC 6891) and client subnet (RFC 7871): a parser and a
// builder over byte spans, no I/O. Names are in presentation form without the trailing dot
// ("a.leak.test", root = ""); bytes outside printable ASCII, '.' and '\' are escaped as \DDD or
// \X so that a name never becomes ambiguous or unprintable in logs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "wire/bytes.hpp"

namespace vpnleak::wire::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameWire = 255;  // RFC 1035 3.1, including the root label
inline constexpr std::size_t kMaxLabel = 63;
inline constexpr std::size_t kMaxUdpPlain = 512;   // without EDNS
inline constexpr std::size_t kMaxMessage = 65535;  // TCP

// Resource record types this code names; any other value is carried as a number.
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeNs = 2;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeSoa = 6;
inline constexpr std::uint16_t kTypePtr = 12;
inline constexpr std::uint16_t kTypeMx = 15;
inline constexpr std::uint16_t kTypeTxt = 16;
inline constexpr std::uint16_t kTypeAaaa = 28;
inline constexpr std::uint16_t kTypeSrv = 33;
inline constexpr std::uint16_t kTypeOpt = 41;
inline constexpr std::uint16_t kTypeHttps = 65;
inline constexpr std::uint16_t kTypeAny = 255;
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kClassCh = 3;
inline constexpr std::uint16_t kClassAny = 255;
inline constexpr std::uint16_t kOptionClientSubnet = 8;

enum class Opcode : std::uint8_t { kQuery = 0, kIQuery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };

// The 4-bit RCODE plus the EDNS extended ones (BADVERS needs the OPT record to be expressed).
enum class Rcode : std::uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kBadVers = 16,
};

std::string typeName(std::uint16_t type);  // "A", "AAAA", ... or "TYPE123" (RFC 3597)
std::string_view rcodeName(Rcode rc);      // "NOERROR", "REFUSED", ...

struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  static constexpr std::uint16_t kQr = 0x8000;
  static constexpr std::uint16_t kAa = 0x0400;
  static constexpr std::uint16_t kTc = 0x0200;
  static constexpr std::uint16_t kRd = 0x0100;
  static constexpr std::uint16_t kRa = 0x0080;
  static constexpr std::uint16_t kAd = 0x0020;
  static constexpr std::uint16_t kCd = 0x0010;

  [[nodiscard]] bool qr() const { return (flags & kQr) != 0; }
  [[nodiscard]] Opcode opcode() const { return static_cast<Opcode>((flags >> 11) & 0xf); }
  [[nodiscard]] std::uint8_t rcode() const { return static_cast<std::uint8_t>(flags & 0xf); }
  [[nodiscard]] bool has(std::uint16_t flag) const { return (flags & flag) != 0; }
};

// RFC 7871: the (truncated) client address a resolver forwards.
struct ClientSubnet {
  std::uint8_t source_prefix = 0;
  std::uint8_t scope_prefix = 0;
  core::IpAddress address;                     // host bits beyond source_prefix are zero
  [[nodiscard]] std::string toString() const;  // "203.0.113.0/24"
  friend bool operator==(const ClientSubnet&, const ClientSubnet&) = default;
};

struct Edns {
  std::uint16_t udp_payload_size = 512;  // values below 512 are read as 512
  std::uint8_t extended_rcode = 0;
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::optional<ClientSubnet> client_subnet;
};

struct Question {
  std::string name;
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
};

struct ResourceRecord {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t rclass = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata_offset = 0;  // into the parsed message: rdata may hold compressed names
  std::uint16_t rdata_length = 0;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;  // without the OPT record, which becomes edns
  std::optional<Edns> edns;
  std::size_t question_end = 0;  // offset just past the question section
};

core::Result<Header> parseHeader(Bytes packet);

// A complete message. Errors are Errc::kMalformed and say what and where: truncation, bad
// compression pointer, oversized name or label, duplicate or misplaced OPT, bad ECS option.
core::Result<Message> parse(Bytes packet);
// The same into a caller's message, reusing its vectors' and names' capacity (a server that
// parses every query into one Message allocates only for what it moves out). On an error m
// holds no valid message.
core::Status parseInto(Bytes packet, Message& m);

struct NameRead {
  std::string name;
  std::size_t next = 0;  // offset after the name where it appears (not after a pointer target)
};

// Reads a possibly compressed name. Every pointer must point strictly before the lowest offset
// read so far, so reading always terminates; a message with a forward or looping pointer is
// malformed.
core::Result<NameRead> readName(Bytes packet, std::size_t offset);
// The same into a caller's string (cleared first; its capacity is reused, so a hot loop reading
// many names allocates once). Returns NameRead::next; on an error name holds no valid name.
core::Result<std::size_t> readNameInto(Bytes packet, std::size_t offset, std::string& name);

// The A/AAAA address in a record's rdata, when it is one.
std::optional<core::IpAddress> recordAddress(Bytes packet, const ResourceRecord& rr);

// Case-insensitive (ASCII) equality and "name is zone or below it" on label boundaries.
bool nameEquals(std::string_view a, std::string_view b);
bool nameInZone(std::string_view name, std::string_view zone);

struct Soa {
  std::string mname;
  std::string rname;
  std::uint32_t serial = 1;
  std::uint32_t refresh = 3600;
  std::uint32_t retry = 600;
  std::uint32_t expire = 86400;
  std::uint32_t minimum = 0;
};

enum class Section : std::uint8_t { kQuestion, kAnswer, kAuthority, kAdditional };

// Writes a message into a caller-owned buffer with name compression, without allocating (the
// table of names already written lives in the Builder). Sections must be added in order. Every add*
// returns false and leaves the message unchanged when the record would not fit in the size limit;
// the caller then sets TC or gives up.
class Builder {
 public:
  Builder(MutableBytes out, const Header& header, std::size_t limit = kMaxMessage);

  bool addQuestion(std::string_view name, std::uint16_t qtype, std::uint16_t qclass);
  bool addAddress(Section s, std::string_view name, std::uint32_t ttl, const core::IpAddress& a);
  bool addTxt(Section s, std::string_view name, std::uint32_t ttl,
              const std::vector<std::string_view>& strings);
  bool addNs(Section s, std::string_view name, std::uint32_t ttl, std::string_view target);
  bool addSoa(Section s, std::string_view name, std::uint32_t ttl, const Soa& soa);
  bool addRaw(Section s, std::string_view name, std::uint16_t type, std::uint16_t rclass,
              std::uint32_t ttl, Bytes rdata);
  bool addOpt(const Edns& edns);

  void setFlags(std::uint16_t flags);
  [[nodiscard]] std::size_t size() const { return w_.size(); }
  [[nodiscard]] std::uint16_t count(Section s) const {
    return counts_[static_cast<std::size_t>(s)];
  }

 private:
  // A name (or name suffix) already in the message that later names may point to.
  struct Suffix {
    std::uint16_t offset;  // in the message
    std::uint16_t pos;     // into names_: its uncompressed wire form, as written
    std::uint16_t len;
  };
  struct Mark {
    std::size_t size;
    std::size_t suffixes;
    std::size_t names;
  };
  Mark begin(Section s);
  bool finish(Section s, const Mark& mark, bool ok);
  bool writeName(std::string_view name);
  [[nodiscard]] const Suffix* findSuffix(const std::uint8_t* wire, std::size_t len) const;
  void remember(const std::uint8_t* wire, std::size_t len, std::size_t offset, std::size_t end);
  bool recordHeader(std::string_view name, std::uint16_t type, std::uint16_t rclass,
                    std::uint32_t ttl, std::size_t& rdlen_at);
  bool endRdata(std::size_t rdlen_at);

  Writer w_;
  std::array<std::uint16_t, 4> counts_{};
  Section current_ = Section::kQuestion;
  // Only the first suffix_count_ / names_len_ entries are ever read: left uninitialised, so
  // that a Builder per response does not clear 1.2 KiB.
  std::array<Suffix, 32> suffixes_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t suffix_count_ = 0;
  std::array<std::uint8_t, 1024> names_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t names_len_ = 0;
  // The presentation form of the last name whose labels begin at last_offset_: the same name
  // again (an answer's owner repeats the question) becomes a pointer without being encoded.
  std::array<char, 256> last_name_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t last_len_ = 0;         // 0: none
  std::uint16_t last_offset_ = 0;
};

// Encodes a presentation-form name into uncompressed wire form (for tests and tools).
core::Result<std::vector<std::uint8_t>> encodeName(std::string_view name);
// The same into a caller's buffer, without allocating: the wire length, or 0 for an invalid
// name (encodeName says why).
std::size_t encodeNameInto(std::string_view name, std::span<std::uint8_t, kMaxNameWire> out);

}  // namespace vpnleak::wire::dns
