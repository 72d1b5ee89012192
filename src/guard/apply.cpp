#include "guard/apply.hpp"

#include <net/if.h>

#include <chrono>

#include "core/log.hpp"
#include "core/process.hpp"
#include "guard/ruleset.hpp"

namespace vpnleak::guard {

using core::Errc;

namespace {

bool interfaceExists(const std::string& name) { return ::if_nametoindex(name.c_str()) != 0; }

void addCounters(const core::Json& doc, std::map<std::string, CounterValue>& out) {
  if (!doc.contains("nftables") || !doc["nftables"].is_array()) return;
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("counter")) continue;
    const auto& c = item["counter"];
    std::string name = c.value("name", "");
    if (name.rfind("drop_", 0) != 0) continue;
    auto& v = out[name.substr(5)];
    v.packets += c.value("packets", std::uint64_t{0});
    v.bytes += c.value("bytes", std::uint64_t{0});
  }
}

}  // namespace

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

core::Result<Resolved> resolve(GuardConfig config) {
  VL_TRY(validate(config));
  if (!config.lockdown && !config.tunnel_may_be_absent && !interfaceExists(config.tunnel)) {
    return core::makeError(Errc::kInvalidArgument,
                           "unknown --tunnel interface '" + config.tunnel +
                               "': no such interface here; bring the VPN up first, or pass "
                               "--tunnel-may-be-absent when it appears later (wg-quick PreUp)");
  }
  if (!config.lan_iface.empty() && !interfaceExists(config.lan_iface)) {
    return core::makeError(
        Errc::kInvalidArgument,
        "unknown --lan-iface interface '" + config.lan_iface + "': expected an existing interface");
  }
  Resolved r;
  if (config.allow_lan) {
    VL_TRY_ASSIGN(auto on_link, collectOnLinkPrefixes());
    r.lan = selectLanPrefixes(on_link, config.tunnel, config.lan_iface);
    config.lan = r.lan.allowed;
    for (const auto& rej : r.lan.rejected) {
      log::warn("guard: LAN prefix not allowed",
                {{"iface", rej.iface}, {"prefix", rej.prefix.toString()}, {"reason", rej.reason}});
    }
  }
  r.config = normalized(std::move(config));
  return r;
}

core::Result<Applied> apply(NftCtx& nft, const GuardConfig& config, pid_t watch_pid) {
  auto prev = readState();
  // A `guard up` beside a running watcher keeps it on record: the watcher adopts the new config.
  if (watch_pid == 0 && prev && core::processMatches(prev->watch_pid, "vpnleak")) {
    watch_pid = prev->watch_pid;
  }
  // The intent is recorded before the table changes, so that a watcher woken by the change
  // already finds the new config and adopts it instead of undoing it.
  VL_TRY(writeState(GuardState{config, "", unixNow(), watch_pid}));
  const auto start = std::chrono::steady_clock::now();
  if (auto r = nft.run(generateRuleset(config)); !r) {
    if (prev) {
      (void)writeState(*prev);
    } else {
      removeState();
    }
    return r.error();
  }
  Applied a;
  a.apply_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  VL_TRY_ASSIGN(a.listing, nft.listStateless(kTable));
  VL_TRY(writeState(GuardState{config, a.listing, unixNow(), watch_pid}));
  return a;
}

core::Result<bool> remove(NftCtx& nft) {
  VL_TRY_ASSIGN(const bool was, nft.hasTable(kTable));
  VL_TRY(nft.run(removeCommand(kTable)));
  removeState();
  return was;
}

core::Result<std::map<std::string, CounterValue>> readCounters(NftCtx& nft) {
  std::map<std::string, CounterValue> out;
  for (const auto table : {kTable, kShadowTable}) {
    auto doc = nft.listCountersJson(table);
    if (!doc) {
      if (doc.error().code == Errc::kNotFound) continue;
      return doc.error();
    }
    addCounters(*doc, out);
  }
  return out;
}

core::Result<Inspection> inspect(NftCtx& nft) {
  Inspection i;
  auto listing = nft.listStateless(kTable);
  if (!listing && listing.error().code != Errc::kNotFound) return listing.error();
  i.present = listing.ok();
  if (auto st = readState(); st) {
    i.state = *st;
    if (i.present) i.matches = *listing == st->listing;
    i.watch_running = core::processMatches(st->watch_pid, "vpnleak");
  } else if (i.present) {
    i.matches = std::nullopt;
  }
  VL_TRY_ASSIGN(i.shadow_present, nft.hasTable(kShadowTable));
  VL_TRY_ASSIGN(i.counters, readCounters(nft));
  return i;
}

core::Json toJson(const Inspection& i) {
  auto doc = core::jsonDocument("vpnleak.guard/1");
  doc["table"] = "inet " + std::string(kTable);
  doc["present"] = i.present;
  doc["matches"] = i.matches ? core::Json(*i.matches) : core::Json(nullptr);
  doc["config"] = i.state ? toJson(i.state->config) : core::Json(nullptr);
  doc["applied_at"] = i.state ? core::Json(i.state->applied_at) : core::Json(nullptr);
  doc["watch"] = {{"running", i.watch_running},
                  {"pid", i.watch_running ? core::Json(i.state->watch_pid) : core::Json(nullptr)},
                  {"shadow_table", i.shadow_present}};
  core::Json counters = core::Json::object();
  for (const auto& r : dropReasons()) {
    const auto it = i.counters.find(std::string(r.name));
    const CounterValue v = it == i.counters.end() ? CounterValue{} : it->second;
    counters[std::string(r.name)] = {{"packets", v.packets}, {"bytes", v.bytes}};
  }
  doc["counters"] = counters;
  return doc;
}

}  // namespace vpnleak::guard
