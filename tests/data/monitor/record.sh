#!/usr/bin/env bash
# Re-records the capture files in this directory inside a running lab (root, namespaces only):
#   vpnleak lab up --prefix vlmrec- && tests/data/monitor/record.sh vlmrec- && vpnleak lab down --prefix vlmrec-
# wg_drop.pcap      Ethernet, client lan0, outgoing: healthy tunnel (new handshake, pings, DNS),
#                   then the tunnel dropped: ping, DNS (UDP and TCP), HTTP, TLS, STUN, IPv6.
# any_sll2.pcap     the same traffic seen on the client's "any" device (Linux cooked v2, both
#                   directions, lan0 and the tunnel interface).
# The expected counts are not stored: the test derives them from tcpdump filters on each file.
set -euo pipefail
P=${1:?usage: record.sh LAB_PREFIX}
C=${P}client
S=${P}server
out=$(cd "$(dirname "$0")" && pwd)
in_c() { ip netns exec "$C" "$@"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Listeners on the leak-test server so that HTTP and TLS get as far as their first segment.
ip netns exec "$S" timeout 60 python3 -c '
import socket, threading
def serve(port, reply):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(8)
    while True:
        c, _ = s.accept(); c.settimeout(2)
        try: c.recv(4096); c.sendall(reply)
        except OSError: pass
        c.close()
threading.Thread(target=serve, args=(80, b"HTTP/1.0 204 No Content\r\n\r\n"), daemon=True).start()
serve(443, b"")' 2>/dev/null &
pids+=($!)

# Started with ip netns exec directly (not through a function) so that $! is tcpdump itself.
ip netns exec "$C" tcpdump -Z root -i lan0 -Q out -nn -U -s 0 -w "$out/wg_drop.pcap" 2>/dev/null &
pids+=($!)
ip netns exec "$C" tcpdump -Z root -i any -nn -U -s 0 -w "$out/any_sll2.pcap" 2>/dev/null &
pids+=($!)
sleep 1

peer=$(in_c wg show "${P}wgc" peers)
# A fresh handshake: remove and re-add the peer, then send through the tunnel.
in_c wg set "${P}wgc" peer "$peer" remove
in_c wg set "${P}wgc" peer "$peer" endpoint 203.0.113.2:51820 allowed-ips 0.0.0.0/0
in_c ping -c 3 -i 0.2 -W 1 -q 10.77.0.1 >/dev/null || true
in_c dig +tries=1 +time=2 h1.leak.test >/dev/null || true
sleep 0.3

in_c ip link del "${P}wgc"   # the tunnel drops; routing falls back to lan0
in_c ping -c 2 -i 0.2 -W 1 -q 192.0.2.10 >/dev/null || true
in_c dig +tries=1 +time=1 l1.leak.test >/dev/null || true            # resolv.conf: VPN resolver
in_c dig +tries=1 +time=2 @192.168.77.1 l2.leak.test >/dev/null || true  # ISP resolver
in_c dig +tcp +tries=1 +time=2 @192.168.77.1 l3.leak.test >/dev/null || true
in_c curl -s -m 2 -o /dev/null -H 'Host: l4.leak.test' http://192.0.2.10/ || true
in_c curl -sk -m 2 -o /dev/null --resolve l5.leak.test:443:192.0.2.10 https://l5.leak.test/ || true
in_c python3 -c '
import socket, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex("000100002112a442") + os.urandom(12), ("192.0.2.10", 3478))'
in_c ping -6 -c 2 -i 0.2 -W 1 -q 2001:db8:192::10 >/dev/null || true
sleep 1
