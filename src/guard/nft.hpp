// The one door to nftables: a libnftables context. Everything the guard does to the kernel's
// rules goes through run(), one buffer = one transaction.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/result.hpp"

struct nft_ctx;

namespace vpnleak::guard {

class NftCtx {
 public:
  // Opens the context (and its netlink socket) in the calling thread's network namespace; the
  // socket stays there. Output is buffered so that listings come back as strings.
  static core::Result<NftCtx> create();

  // Runs a script (commands or a ruleset file's text) atomically: all of it or nothing. Returns
  // what nft printed; the error carries nft's own message, first line only.
  core::Result<std::string> run(std::string_view commands);

  // `list table inet NAME` without counter values (stable across traffic). kNotFound when absent.
  core::Result<std::string> listStateless(std::string_view table);
  // `list counters table inet NAME` as libnftables JSON.
  core::Result<core::Json> listCountersJson(std::string_view table);
  // Whether `inet NAME` exists.
  core::Result<bool> hasTable(std::string_view table);

 private:
  struct Deleter {
    void operator()(nft_ctx* ctx) const;
  };
  explicit NftCtx(nft_ctx* ctx) : ctx_(ctx) {}
  core::Result<std::string> runWithFlags(std::string_view commands, unsigned flags);

  std::unique_ptr<nft_ctx, Deleter> ctx_;
};

}  // namespace vpnleak::guard
