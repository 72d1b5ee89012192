#include "core/result.hpp"

#include <cstring>

namespace vpnleak::core {

std::string Error::message() const {
  if (sys_errno == 0) return context;
  return context + ": " + std::strerror(sys_errno);
}

int Error::exitCode() const {
  switch (code) {
    case Errc::kInvalidArgument:
    case Errc::kExists:
      return 2;
    case Errc::kEnvironment:
    case Errc::kNotFound:
    case Errc::kSystem:
    case Errc::kTimeout:
    case Errc::kMalformed:
      return 3;
    case Errc::kInternal:
      return 4;
  }
  return 4;
}

Error makeError(Errc code, std::string context) { return Error{code, 0, std::move(context)}; }

Error sysError(std::string context, int err) {
  return Error{Errc::kSystem, err, std::move(context)};
}

}  // namespace vpnleak::core
