// Result<T>: a value or an Error, in the manner of std::expected (which g++ 12 lacks).
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vpnleak::core {

// What went wrong, coarse enough to choose an exit code from.
enum class Errc {
  kInvalidArgument,  // bad user input: flags, configs, values (exit 2)
  kExists,           // something the user asked to create already exists (exit 2)
  kEnvironment,      // not root, missing tool or kernel feature (exit 3)
  kNotFound,         // an object that should exist does not (exit 3)
  kSystem,           // a system call failed (exit 3 or 4 by context)
  kMalformed,        // untrusted input could not be parsed (packets, replies)
  kTimeout,
  kInternal,  // a bug (exit 4)
};

struct Error {
  Errc code = Errc::kInternal;
  int sys_errno = 0;
  std::string context;

  // One line for the user: context, then the system error text when there is one.
  [[nodiscard]] std::string message() const;
  // The documented exit code this error maps to (2, 3 or 4).
  [[nodiscard]] int exitCode() const;
};

Error makeError(Errc code, std::string context);
// An error from a failed system call; reads errno unless given.
Error sysError(std::string context, int err = errno);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace vpnleak::core

// Propagate the error of an expression that yields a Result.
#define VL_TRY(expr)                                         \
  do {                                                       \
    auto vl_try_result_ = (expr);                            \
    if (!vl_try_result_.ok()) return vl_try_result_.error(); \
  } while (0)

#define VL_CONCAT_INNER(a, b) a##b
#define VL_CONCAT(a, b) VL_CONCAT_INNER(a, b)
// auto x = VL_ASSIGN_OR_RETURN-like helper: VL_TRY_ASSIGN(var, expr)
#define VL_TRY_ASSIGN(lhs, expr) VL_TRY_ASSIGN_IMPL(VL_CONCAT(vl_res_, __LINE__), lhs, expr)
#define VL_TRY_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                       \
  if (!tmp.ok()) return tmp.error();       \
  lhs = std::move(tmp).value()
