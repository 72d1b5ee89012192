// sqlite:PATH — one file that survives restarts. One connection behind a mutex: the server
// writes in batches from one recorder thread, so contention is the reads of the HTTP API.
#include <sqlite3.h>

#include <memory>
#include <mutex>

#include "server/store.hpp"

namespace vpnleak::server {

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS tests(
  token TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  observations INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tests_expiry ON tests(expires_ms);
CREATE TABLE IF NOT EXISTS observations(
  id INTEGER PRIMARY KEY,
  token TEXT NOT NULL,
  kind INTEGER NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS observations_token ON observations(token);
)sql";

class SqliteStore final : public Store {
 public:
  static core::Result<std::unique_ptr<Store>> open(const std::string& path, const Limits& limits) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) return failure("cannot open sqlite store " + path, db.get());
    sqlite3_busy_timeout(db.get(), 2000);
    if (sqlite3_exec(db.get(), kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return failure("cannot create the schema in sqlite store " + path, db.get());
    }
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db), limits));
    VL_TRY(store->prepareAll());
    return std::unique_ptr<Store>(std::move(store));
  }

  [[nodiscard]] std::string_view backend() const override { return "sqlite"; }

  core::Status create(const std::string& token, std::int64_t now_ms, std::int64_t ttl_ms) override {
    const std::lock_guard lock(mu_);
    auto* s = insert_test_.get();
    sqlite3_reset(s);
    bindText(s, 1, token);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, now_ms + ttl_ms);
    if (sqlite3_step(s) != SQLITE_DONE) return failure("sqlite: cannot insert a test", db_.get());
    return {};
  }

  core::Result<std::size_t> append(std::span<Observation> batch, std::int64_t now_ms) override {
    const std::lock_guard lock(mu_);
    sqlite3_exec(db_.get(), "BEGIN", nullptr, nullptr, nullptr);
    std::size_t stored = 0;
    for (const auto& o : batch) {
      // Counting in the tests row bounds each test and checks that it is alive in one step.
      auto* u = count_.get();
      sqlite3_reset(u);
      bindText(u, 1, o.token);
      sqlite3_bind_int64(u, 2, now_ms);
      sqlite3_bind_int64(u, 3, static_cast<sqlite3_int64>(limits_.max_observations_per_test));
      if (sqlite3_step(u) != SQLITE_DONE) break;
      if (sqlite3_changes(db_.get()) != 1) continue;
      auto* s = insert_obs_.get();
      sqlite3_reset(s);
      bindText(s, 1, o.token);
      sqlite3_bind_int(s, 2, static_cast<int>(o.kind));
      const std::string text = observationText(o);
      bindText(s, 3, text);
      if (sqlite3_step(s) != SQLITE_DONE) break;
      ++stored;
    }
    if (sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return failure("sqlite: cannot store observations", db_.get());
    }
    return stored;
  }

  core::Result<std::optional<TestRecord>> get(const std::string& token,
                                              std::int64_t now_ms) override {
    const std::lock_guard lock(mu_);
    auto* s = select_test_.get();
    sqlite3_reset(s);
    bindText(s, 1, token);
    sqlite3_bind_int64(s, 2, now_ms);
    if (sqlite3_step(s) != SQLITE_ROW) return std::optional<TestRecord>{};
    TestRecord rec{token, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), {}};
    auto* o = select_obs_.get();
    sqlite3_reset(o);
    bindText(o, 1, token);
    int rc = 0;
    while ((rc = sqlite3_step(o)) == SQLITE_ROW) {
      const auto kind = static_cast<Kind>(sqlite3_column_int(o, 0));
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(o, 1));
      rec.observations.emplace_back(kind, text != nullptr ? text : "");
    }
    if (rc != SQLITE_DONE) return failure("sqlite: cannot read observations", db_.get());
    return std::optional<TestRecord>(std::move(rec));
  }

  void expire(std::int64_t now_ms) override {
    const std::lock_guard lock(mu_);
    for (auto* s : {expire_obs_.get(), expire_tests_.get()}) {
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, now_ms);
      sqlite3_step(s);
    }
  }

 private:
  SqliteStore(Db db, const Limits& limits) : db_(std::move(db)), limits_(limits) {}

  static core::Error failure(const std::string& what, sqlite3* db) {
    return core::makeError(core::Errc::kEnvironment,
                           what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
  }
  static void bindText(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

  core::Result<Stmt> prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK) {
      return failure(std::string("sqlite: cannot prepare '") + sql + "'", db_.get());
    }
    return Stmt(raw);
  }

  core::Status prepareAll() {
    VL_TRY_ASSIGN(insert_test_,
                  prepare("INSERT INTO tests(token, created_ms, expires_ms) VALUES(?1, ?2, ?3)"));
    VL_TRY_ASSIGN(count_,
                  prepare("UPDATE tests SET observations = observations + 1 WHERE token = ?1 "
                          "AND expires_ms > ?2 AND observations < ?3"));
    VL_TRY_ASSIGN(insert_obs_,
                  prepare("INSERT INTO observations(token, kind, data) VALUES(?1, ?2, ?3)"));
    VL_TRY_ASSIGN(select_test_, prepare("SELECT created_ms, expires_ms FROM tests WHERE token = ?1 "
                                        "AND expires_ms > ?2"));
    VL_TRY_ASSIGN(select_obs_,
                  prepare("SELECT kind, data FROM observations WHERE token = ?1 ORDER BY id"));
    VL_TRY_ASSIGN(expire_obs_, prepare("DELETE FROM observations WHERE token IN "
                                       "(SELECT token FROM tests WHERE expires_ms <= ?1)"));
    VL_TRY_ASSIGN(expire_tests_, prepare("DELETE FROM tests WHERE expires_ms <= ?1"));
    return {};
  }

  Db db_;
  Limits limits_;
  std::mutex mu_;
  Stmt insert_test_, count_, insert_obs_, select_test_, select_obs_, expire_obs_, expire_tests_;
};

}  // namespace

core::Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path,
                                                     const Limits& limits) {
  return SqliteStore::open(path, limits);
}

}  // namespace vpnleak::server
