// redis://HOST:PORT — the store several server nodes share. A test is one list
// "vpnleak:test:<token>" whose first element holds its times and the rest its observations,
// each prefixed by one letter for its kind. Redis expires the key; RPUSHX appends only while it
// exists, so observations of unknown tokens cost one round trip and store nothing.
#include <hiredis/hiredis.h>

#include <memory>
#include <mutex>

#include "core/log.hpp"
#include "server/store.hpp"

namespace vpnleak::server {

namespace {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

constexpr timeval kTimeout{2, 0};
constexpr std::string_view kKeyPrefix = "vpnleak:test:";

char kindLetter(Kind k) { return k == Kind::kDns ? 'd' : k == Kind::kHttp ? 'h' : 'w'; }

std::optional<Kind> letterKind(char c) {
  if (c == 'd') return Kind::kDns;
  if (c == 'h') return Kind::kHttp;
  if (c == 'w') return Kind::kWebrtc;
  return std::nullopt;
}

class RedisStore final : public Store {
 public:
  RedisStore(std::string host, std::uint16_t port, const Limits& limits)
      : host_(std::move(host)), port_(port), limits_(limits) {}

  core::Status connect() {
    ctx_.reset(redisConnectWithTimeout(host_.c_str(), port_, kTimeout));
    if (!ctx_ || ctx_->err != 0) {
      const std::string why = ctx_ ? ctx_->errstr : "out of memory";
      ctx_.reset();
      return core::makeError(core::Errc::kEnvironment, "cannot reach redis at " + host_ + ":" +
                                                           std::to_string(port_) + ": " + why);
    }
    redisSetTimeout(ctx_.get(), kTimeout);
    return {};
  }

  [[nodiscard]] std::string_view backend() const override { return "redis"; }

  core::Status create(const std::string& token, std::int64_t now_ms, std::int64_t ttl_ms) override {
    const core::Json meta{{"created_ms", now_ms}, {"expires_ms", now_ms + ttl_ms}};
    const std::string key = std::string(kKeyPrefix) + token;
    const std::string value = "m" + meta.dump();
    const std::string ttl = std::to_string(ttl_ms);
    const std::lock_guard lock(mu_);
    std::vector<Reply> replies;
    VL_TRY(pipeline({{"MULTI"}, {"RPUSH", key, value}, {"PEXPIRE", key, ttl}, {"EXEC"}}, replies));
    const auto* exec = replies.back().get();
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
      return core::makeError(core::Errc::kEnvironment, "redis: test creation was not applied");
    }
    return {};
  }

  core::Result<std::size_t> append(std::span<Observation> batch, std::int64_t) override {
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(batch.size() * 2);
    const std::string last = std::to_string(limits_.max_observations_per_test);
    for (const auto& o : batch) {
      std::string key = std::string(kKeyPrefix) + o.token;
      cmds.push_back({"RPUSHX", key, kindLetter(o.kind) + observationText(o)});
      cmds.push_back({"LTRIM", std::move(key), "0", last});
    }
    const std::lock_guard lock(mu_);
    std::vector<Reply> replies;
    VL_TRY(pipeline(cmds, replies));
    std::size_t stored = 0;
    for (std::size_t i = 0; i < replies.size(); i += 2) {
      const auto n = replies[i]->type == REDIS_REPLY_INTEGER ? replies[i]->integer : 0;
      if (n > 0 && n <= static_cast<long long>(limits_.max_observations_per_test) + 1) ++stored;
    }
    return stored;
  }

  core::Result<std::optional<TestRecord>> get(const std::string& token, std::int64_t) override {
    const std::lock_guard lock(mu_);
    std::vector<Reply> replies;
    VL_TRY(pipeline({{"LRANGE", std::string(kKeyPrefix) + token, "0", "-1"}}, replies));
    const auto* r = replies.front().get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return std::optional<TestRecord>{};
    TestRecord rec{token, 0, 0, {}};
    for (std::size_t i = 0; i < r->elements; ++i) {
      const auto* e = r->element[i];
      if (e->type != REDIS_REPLY_STRING || e->len < 1) continue;
      const std::string_view text(e->str, e->len);
      if (text.front() == 'm') {
        const auto meta = core::Json::parse(text.substr(1), nullptr, false);
        if (meta.is_object()) {
          rec.created_ms = meta.value("created_ms", std::int64_t{0});
          rec.expires_ms = meta.value("expires_ms", std::int64_t{0});
        }
      } else if (const auto kind = letterKind(text.front())) {
        rec.observations.emplace_back(*kind, std::string(text.substr(1)));
      }
    }
    return std::optional<TestRecord>(std::move(rec));
  }

 private:
  // Sends every command, then reads every reply; one reconnect when the connection was lost.
  core::Status pipeline(const std::vector<std::vector<std::string>>& cmds,
                        std::vector<Reply>& replies) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      replies.clear();
      if (!ctx_) VL_TRY(connect());
      if (sendAll(cmds, replies)) return {};
      const std::string why = ctx_ && ctx_->err != 0 ? ctx_->errstr : "unexpected reply";
      ctx_.reset();
      if (attempt == 1) {
        return core::makeError(core::Errc::kEnvironment,
                               "redis at " + host_ + ":" + std::to_string(port_) + ": " + why);
      }
      log::warn("redis connection lost, reconnecting", {{"error", why}});
    }
    return {};
  }

  bool sendAll(const std::vector<std::vector<std::string>>& cmds, std::vector<Reply>& replies) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& c : cmds) {
      argv.clear();
      lens.clear();
      for (const auto& a : c) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                                 lens.data()) != REDIS_OK) {
        return false;
      }
    }
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) return false;
      Reply reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        log::warn("redis error reply", {{"error", std::string(reply->str, reply->len)}});
      }
      replies.push_back(std::move(reply));
    }
    return true;
  }

  std::string host_;
  std::uint16_t port_;
  Limits limits_;
  std::mutex mu_;
  Context ctx_;
};

}  // namespace

core::Result<std::unique_ptr<Store>> openRedisStore(const std::string& host, std::uint16_t port,
                                                    const Limits& limits) {
  auto store = std::make_unique<RedisStore>(host, port, limits);
  VL_TRY(store->connect());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace vpnleak::server
