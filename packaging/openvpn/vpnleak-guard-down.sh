#!/bin/sh
# OpenVPN --down hook. By default the kill switch stays: the tunnel going down is exactly when it
# must block (fail-closed); OpenVPN's reconnect re-runs the --up hook. Set VPNLEAK_GUARD_DOWN=remove
# (e.g. `setenv VPNLEAK_GUARD_DOWN remove` in the config) to turn it off with the VPN.
set -eu
case "${VPNLEAK_GUARD_DOWN:-keep}" in
  remove) exec vpnleak guard down ;;
  *) exit 0 ;;
esac
