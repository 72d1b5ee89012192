#include "audit/openvpn.hpp"

#include <cctype>
#include <charconv>

namespace vpnleak::audit {

namespace {

constexpr int kMaxConfigDepth = 8;  // `config` lines may name each other: a loop must end
// ... and several per file would still read 2^depth files: a bound on the total too.
constexpr int kMaxConfigFiles = 32;
constexpr const char* kConnectionStart = "<connection>";
constexpr const char* kConnectionEnd = "</connection>";

struct Partial {
  std::string host;
  std::optional<std::uint16_t> port;
  std::optional<std::string> proto;
};

// The `port`/`proto` defaults in force: global, or a <connection> block's.
struct Defaults {
  std::optional<std::uint16_t> port;
  std::optional<std::string> proto;
};

struct State {
  const ConfigReader& read;
  std::vector<std::string>& notes;
  std::string cwd;
  std::vector<Partial> remotes;  // plain remotes: filled from the final global defaults
  std::vector<OpenVpnRemote> done;
  Defaults global;
  std::optional<Defaults> block;  // inside <connection>
  std::vector<Partial> block_remotes;
  int files_read = 0;
};

std::optional<std::uint16_t> parsePort(std::string_view text) {
  unsigned v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{} || p != end || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::string joinPath(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir.back() == '/' ? dir + path : dir + "/" + path;
}

OpenVpnRemote fill(const Partial& p, const Defaults& d) {
  return {p.host, p.port.value_or(d.port.value_or(1194)),
          p.proto.value_or(d.proto.value_or("udp"))};
}

void apply(const std::vector<std::string>& opt, State& st, int depth);

void readConfig(const std::string& path, State& st, int depth) {
  const auto full = joinPath(st.cwd, path);
  if (depth >= kMaxConfigDepth) {
    st.notes.push_back("openvpn config " + full + " is nested too deeply: not read");
    return;
  }
  if (++st.files_read > kMaxConfigFiles) {
    st.notes.push_back("openvpn config " + full + " not read: more than " +
                       std::to_string(kMaxConfigFiles) + " config files");
    return;
  }
  const auto text = st.read(full);
  if (!text) {
    st.notes.push_back("cannot read the openvpn config " + full + ": its remotes are unknown");
    return;
  }
  for (const auto& opt : parseOpenVpnConfig(*text)) apply(opt, st, depth + 1);
}

void addRemote(const std::vector<std::string>& opt, State& st) {
  if (opt.size() < 2 || opt[1].empty()) {
    st.notes.emplace_back("an openvpn remote without a host: skipped");
    return;
  }
  Partial r{opt[1], {}, {}};
  if (opt.size() > 2 && !(r.port = parsePort(opt[2]))) {
    st.notes.push_back("openvpn remote " + opt[1] + " has the bad port '" + opt[2] + "': skipped");
    return;
  }
  if (opt.size() > 3 && !(r.proto = openVpnProtoFamily(opt[3]))) {
    st.notes.push_back("openvpn remote " + opt[1] + " has the unknown protocol '" + opt[3] +
                       "': skipped");
    return;
  }
  (st.block ? st.block_remotes : st.remotes).push_back(std::move(r));
}

void setDefault(const std::vector<std::string>& opt, State& st) {
  Defaults& d = st.block ? *st.block : st.global;
  if (opt.size() < 2) return;
  if (opt[0] == "proto") {
    if (auto p = openVpnProtoFamily(opt[1])) {
      d.proto = *p;
    } else {
      st.notes.push_back("openvpn proto '" + opt[1] + "' is unknown: ignored");
    }
  } else if (auto p = parsePort(opt[1])) {
    d.port = *p;
  } else {
    st.notes.push_back("openvpn " + opt[0] + " '" + opt[1] + "' is not a port: ignored");
  }
}

// A <connection> block takes the global defaults in force where it starts (OpenVPN copies them
// then), and its remotes are complete at its end.
void connection(bool start, State& st) {
  if (start && !st.block) {
    st.block = st.global;
  } else if (!start && st.block) {
    for (const auto& r : st.block_remotes) st.done.push_back(fill(r, *st.block));
    st.block_remotes.clear();
    st.block.reset();
  }
}

void apply(const std::vector<std::string>& opt, State& st, int depth) {
  if (opt.empty()) return;
  const auto& name = opt[0];
  if (name == "remote") {
    addRemote(opt, st);
  } else if (name == "port" || name == "rport" || name == "proto") {
    setDefault(opt, st);
  } else if (name == kConnectionStart || name == kConnectionEnd) {
    connection(name == kConnectionStart, st);
  } else if (name == "config" && opt.size() > 1) {
    readConfig(opt[1], st, depth);
  } else if (name == "cd" && opt.size() > 1) {
    st.cwd = joinPath(st.cwd, opt[1]);  // OpenVPN chdir()s there at once
  }
}

// The options of a command line: "--name" starts one, the words after it are its arguments;
// `openvpn FILE` alone is `openvpn --config FILE`.
std::vector<std::vector<std::string>> commandLineOptions(std::string_view cmdline) {
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start < cmdline.size()) {
    auto end = cmdline.find('\0', start);
    if (end == std::string_view::npos) end = cmdline.size();
    argv.emplace_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  if (argv.size() == 2 && argv[1].rfind("--", 0) != 0) return {{"config", argv[1]}};
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (argv[i].rfind("--", 0) == 0) {
      out.push_back({argv[i].substr(2)});
    } else if (!out.empty()) {
      out.back().push_back(argv[i]);
    }
  }
  return out;
}

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// One line's words, as OpenVPN's parse_line reads them: a backslash escapes the next character
// (not within single quotes), "..." and '...' group, `#` or `;` where a word would start ends
// the line.
std::vector<std::string> words(std::string_view line) {
  enum class In { kNone, kWord, kDouble, kSingle };
  std::vector<std::string> out;
  std::string word;
  In in = In::kNone;
  bool escaped = false;
  for (const char c : line) {
    if (!escaped && c == '\\' && in != In::kSingle) {
      escaped = true;
      if (in == In::kNone) in = In::kWord;
      continue;
    }
    const bool literal = escaped;
    escaped = false;
    if (in == In::kNone) {
      if (isSpace(c)) continue;
      if (c == '#' || c == ';') break;
      in = c == '"' ? In::kDouble : c == '\'' ? In::kSingle : In::kWord;
      if (in == In::kWord) word += c;
      continue;
    }
    const bool ends = (in == In::kWord && !literal && isSpace(c)) ||
                      (in == In::kDouble && !literal && c == '"') ||
                      (in == In::kSingle && c == '\'');
    if (!ends) {
      word += c;
      continue;
    }
    out.push_back(std::move(word));
    word.clear();
    in = In::kNone;
  }
  if (in != In::kNone) out.push_back(std::move(word));  // an unclosed quote ends at the line's end
  return out;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::optional<std::string> openVpnProtoFamily(std::string_view proto) {
  for (const char* p : {"udp", "udp4", "udp6"}) {
    if (proto == p) return "udp";
  }
  for (const char* p : {"tcp", "tcp4", "tcp6", "tcp-client", "tcp4-client", "tcp6-client"}) {
    if (proto == p) return "tcp";
  }
  return std::nullopt;
}

std::vector<std::vector<std::string>> parseOpenVpnConfig(std::string_view text) {
  std::vector<std::vector<std::string>> out;
  std::string block;  // the inline block being skipped, e.g. "</ca>"
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string line = trimmed(text.substr(start, end - start));
    start = end + 1;
    if (!block.empty()) {
      if (line == block) block.clear();
      continue;
    }
    auto opt = words(line);
    if (opt.empty()) continue;
    if (opt[0].rfind("--", 0) == 0) opt[0].erase(0, 2);
    const auto& w = opt[0];
    if (w.size() > 2 && w.front() == '<' && w.back() == '>' && w[1] != '/' &&
        w != kConnectionStart) {
      block = "</" + w.substr(1);  // an inline file: its lines are not options
      continue;
    }
    out.push_back(std::move(opt));
  }
  return out;
}

std::vector<OpenVpnRemote> openVpnRemotes(std::string_view cmdline, const std::string& cwd,
                                          const ConfigReader& read,
                                          std::vector<std::string>& notes) {
  State st{read, notes, cwd, {}, {}, {}, {}, {}};
  for (const auto& opt : commandLineOptions(cmdline)) apply(opt, st, 0);
  connection(false, st);  // an unclosed <connection> block ends with its file
  std::vector<OpenVpnRemote> out = std::move(st.done);
  for (const auto& r : st.remotes) out.push_back(fill(r, st.global));
  return out;
}

}  // namespace vpnleak::audit
