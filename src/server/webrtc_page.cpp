// The WebRTC leak-test page: self-contained (no third-party scripts or fonts), so loading it
// reveals nothing to anyone but this server.
#include "server/api.hpp"

namespace vpnleak::server {

namespace {

constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>vpnleak: WebRTC leak test</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
#verdict{font-size:1.25rem;font-weight:600;padding:.8rem 1rem;border-radius:.4rem;background:#eee}
#verdict.pass{background:#d9f2dd}#verdict.leak{background:#f8d7d7}#verdict.error{background:#fbe7c6}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin-top:1rem}
td,th{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left}
code{word-break:break-all}
</style>
</head>
<body>
<h1>WebRTC leak test</h1>
<p>Your browser is asked for its ICE candidates through this server's STUN service. Every public
address in them must be the one this server sees your requests come from; any other address is
outside the path your traffic takes (outside the VPN tunnel).</p>
<div id="verdict" data-state="running">Gathering candidates&hellip;</div>
<p>This server sees you as <code id="http-ip">&hellip;</code>; test token <code id="token">&hellip;</code></p>
<table><thead><tr><th>type</th><th>protocol</th><th>address</th><th>port</th></tr></thead>
<tbody id="candidates"></tbody></table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const init = {method};
  if (body) { init.headers = {"Content-Type": "application/json"}; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  if (!r.ok) throw new Error(method + " " + path + ": HTTP " + r.status);
  return r.json();
}

function stunUrls(cfg) {
  return cfg.stun.map((s) => {
    let host = s.address;
    if (host === "0.0.0.0" || host === "::") host = location.hostname.replace(/^\[|\]$/g, "");
    return "stun:" + (host.includes(":") ? "[" + host + "]" : host) + ":" + s.port;
  });
}

function show(line) {
  const f = line.replace(/^candidate:/, "").split(" ");
  const tr = document.createElement("tr");
  for (const v of [f[7], f[2], f[4], f[5]]) {
    const td = document.createElement("td");
    td.textContent = v || "";
    tr.appendChild(td);
  }
  $("candidates").appendChild(tr);
}

function gather(urls, timeoutMs) {
  return new Promise((resolve) => {
    const found = [];
    const pc = new RTCPeerConnection({iceServers: urls.length ? [{urls}] : []});
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      try { pc.close(); } catch (e) { /* already closed */ }
      resolve(found);
    };
    const timer = setTimeout(finish, timeoutMs);
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        found.push(e.candidate.candidate);
        show(e.candidate.candidate);
      } else if (!e.candidate) {
        clearTimeout(timer);
        finish();
      }
    };
    pc.createDataChannel("vpnleak");
    pc.createOffer().then((o) => pc.setLocalDescription(o)).catch(() => { clearTimeout(timer); finish(); });
  });
}

// The server's other listeners (its IPv6 address when the page came over IPv4, and the
// reverse), so that the verdict compares candidates with every address HTTP traffic leaves
// from, not only the one this page happened to use.
async function otherFamilies(cfg, token) {
  const found = [];
  for (const h of cfg.http) {
    if (h.address === "0.0.0.0" || h.address === "::") continue;
    const host = h.address.includes(":") ? "[" + h.address + "]" : h.address;
    if (host === location.hostname) continue;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 3000);
    try {
      const r = await fetch("http://" + host + ":" + h.port + "/api/v1/ip?token=" + token, {signal: ctl.signal});
      if (r.ok) found.push((await r.json()).ip);
    } catch (e) { /* that family is unreachable: nothing seen over it */ }
    clearTimeout(timer);
  }
  return found;
}

function verdict(state, text) {
  const v = $("verdict");
  v.className = state;
  v.dataset.state = state;
  v.textContent = text;
}

async function main() {
  let token = new URLSearchParams(location.search).get("token") || "";
  if (!/^[0-9a-f]{32}$/.test(token)) token = (await api("POST", "/api/v1/tests")).token;
  $("token").textContent = token;
  const cfg = await api("GET", "/api/v1/config");
  const me = await api("GET", "/api/v1/ip?token=" + token);
  const seen = [me.ip].concat(await otherFamilies(cfg, token));
  $("http-ip").textContent = [...new Set(seen)].join(" and ");
  if (typeof RTCPeerConnection === "undefined") {
    verdict("pass", "WebRTC is disabled in this browser: nothing can leak through it.");
    return;
  }
  const candidates = await gather(stunUrls(cfg), 10000);
  const r = await api("POST", "/api/v1/tests/" + token + "/webrtc", {candidates});
  if (r.verdict === "leak") {
    verdict("leak", "WebRTC leak: your browser reveals " + r.leaked.join(", ") +
            ", not the address this server sees (" + r.http_address + ").");
  } else if (r.public_addresses.length === 0) {
    verdict("pass", "No WebRTC leak: no public address among " + candidates.length + " candidates.");
  } else {
    verdict("pass", "No WebRTC leak: the public addresses in the candidates (" +
            r.public_addresses.join(", ") + ") are the ones this server sees.");
  }
}

main().catch((e) => verdict("error", "The test could not run: " + e.message));
</script>
</body>
</html>
)html";

}  // namespace

std::string_view webrtcPage() { return kPage; }

}  // namespace vpnleak::server
