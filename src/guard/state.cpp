#include "guard/state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/file.hpp"
#include "core/json.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::guard {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStateDir = "/run/vpnleak/guard";

}  // namespace

std::string statePath() {
  struct stat st {};
  const auto ino = ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
  return std::string(kStateDir) + "/net-" + std::to_string(ino) + ".json";
}

namespace {

core::Status makeStateDir() {
  std::error_code ec;
  fs::create_directories(kStateDir, ec);
  if (ec) {
    return core::makeError(core::Errc::kSystem,
                           std::string("mkdir ") + kStateDir + ": " + ec.message());
  }
  return {};
}

}  // namespace

core::Result<StateLock> StateLock::acquire() {
  VL_TRY(makeStateDir());
  core::UniqueFd fd(::open(kStateDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return core::sysError(std::string("open ") + kStateDir);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return core::sysError(std::string("lock ") + kStateDir);
  }
  return StateLock(std::move(fd));
}

core::Status writeState(const GuardState& s) {
  VL_TRY(makeStateDir());
  auto doc = core::jsonDocument("vpnleak.guardstate/1");
  doc["config"] = toJson(s.config);
  doc["listing"] = s.listing;
  doc["applied_at"] = s.applied_at;
  doc["watch_pid"] = s.watch_pid;
  // Write-then-rename: a reader never sees half a file.
  const std::string path = statePath();
  const std::string tmp = path + ".tmp";
  {
    core::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return core::sysError("open " + tmp);
    const std::string text = doc.dump(2) + "\n";
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      return core::sysError("write " + tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return core::sysError("rename " + path);
  return {};
}

core::Result<GuardState> readState() {
  const std::string path = statePath();
  const auto text = core::readFile(path);
  if (!text) return core::makeError(core::Errc::kNotFound, "no guard state at " + path);
  VL_TRY_ASSIGN(auto j, core::parseJson(*text, path));
  GuardState s;
  VL_TRY_ASSIGN(s.config, configFromJson(j.value("config", core::Json::object())));
  s.listing = j.value("listing", "");
  s.applied_at = j.value("applied_at", 0.0);
  s.watch_pid = j.value("watch_pid", 0);
  return s;
}

void removeState() {
  std::error_code ec;
  fs::remove(statePath(), ec);
}

}  // namespace vpnleak::guard
