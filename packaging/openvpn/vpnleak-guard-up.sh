#!/bin/sh
# dev, trusted_ip(6), trusted_port, proto_1 and foreign_option_N come from OpenVPN's environment.
# shellcheck disable=SC2154
# OpenVPN --up hook: narrows the kill switch to this connection: the tunnel device OpenVPN opened,
# the server it connected to (address, port, transport) and the DNS servers it pushed.
# In the client config:   script-security 2
#                         up /etc/openvpn/vpnleak-guard-up.sh
#                         down /etc/openvpn/vpnleak-guard-down.sh
# and apply a first table before OpenVPN starts (see README.md), since this runs after connecting.
set -eu

proto=udp
case "${proto_1:-udp}" in tcp*) proto=tcp ;; esac

if [ -n "${trusted_ip:-}" ]; then
  endpoint="${trusted_ip}:${trusted_port}/${proto}"
else
  endpoint="[${trusted_ip6}]:${trusted_port}/${proto}"
fi

set -- --tunnel "$dev" --endpoint "$endpoint"

# Pushed resolvers arrive as foreign_option_N="dhcp-option DNS 10.8.0.1".
i=1
while :; do
  eval "opt=\${foreign_option_$i:-}"
  [ -n "$opt" ] || break
  case "$opt" in
    "dhcp-option DNS "*) set -- "$@" --dns "${opt#dhcp-option DNS }" ;;
    "dhcp-option DNS6 "*) set -- "$@" --dns "${opt#dhcp-option DNS6 }" --ipv6 tunnel ;;
  esac
  i=$((i + 1))
done

# VPNLEAK_GUARD_EXTRA holds extra flags, split on purpose.
# shellcheck disable=SC2086
exec vpnleak guard up "$@" ${VPNLEAK_GUARD_EXTRA:-}
