#include "guard/nft.hpp"

#include <nftables/libnftables.h>

namespace vpnleak::guard {

using core::Errc;

namespace {

std::string firstLines(std::string text, std::size_t max_lines) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < max_lines && pos != std::string::npos; ++i) {
    pos = text.find('\n', pos == 0 ? 0 : pos + 1);
  }
  if (pos != std::string::npos) text.resize(pos);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

void NftCtx::Deleter::operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }

core::Result<NftCtx> NftCtx::create() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) {
    return core::makeError(Errc::kEnvironment, "cannot create a libnftables context");
  }
  NftCtx owned(ctx);
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    return core::makeError(Errc::kEnvironment, "libnftables: cannot buffer output");
  }
  return owned;
}

core::Result<std::string> NftCtx::runWithFlags(std::string_view commands, unsigned flags) {
  nft_ctx_output_set_flags(ctx_.get(), flags);
  const std::string buf(commands);
  const int rc = nft_run_cmd_from_buffer(ctx_.get(), buf.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx_.get());
  std::string err = nft_ctx_get_error_buffer(ctx_.get());
  if (rc != 0) {
    if (err.find("No such file or directory") != std::string::npos) {
      return core::makeError(Errc::kNotFound, "nft: " + firstLines(err, 1));
    }
    if (err.find("Operation not permitted") != std::string::npos) {
      return core::makeError(
          Errc::kEnvironment,
          "nft: operation not permitted (needs root / CAP_NET_ADMIN): " + firstLines(err, 1));
    }
    // nft prints "Error: ..." then the offending line and a caret line: keep the first three.
    return core::makeError(Errc::kSystem, "nft: " + (err.empty() ? "failed" : firstLines(err, 3)));
  }
  return out;
}

core::Result<std::string> NftCtx::run(std::string_view commands) {
  return runWithFlags(commands, 0);
}

core::Result<std::string> NftCtx::listStateless(std::string_view table) {
  return runWithFlags("list table inet " + std::string(table), NFT_CTX_OUTPUT_STATELESS);
}

core::Result<core::Json> NftCtx::listCountersJson(std::string_view table) {
  VL_TRY_ASSIGN(auto text, runWithFlags("list counters table inet " + std::string(table),
                                        NFT_CTX_OUTPUT_JSON));
  return core::parseJson(text, "nft -j list counters");
}

core::Result<bool> NftCtx::hasTable(std::string_view table) {
  auto r = listStateless(table);
  if (r) return true;
  if (r.error().code == Errc::kNotFound) return false;
  return r.error();
}

}  // namespace vpnleak::guard
