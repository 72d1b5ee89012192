#!/usr/bin/env bash
# HTTP `GET /api/v1/ip`: vpnleak vs nginx with the SAME CPU budget for each server; kept for the
# command lines in bench/RESULTS.md. The script is bench/server_cpu_quota.sh (http or dns).
#   bench/server_http_cpu_quota.sh [QUOTA_PERCENT] [PAIRS] [SECONDS]   (default 40 5 8; root)
exec "$(dirname "$0")/server_cpu_quota.sh" http "$@"
