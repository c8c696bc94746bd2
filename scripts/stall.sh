#!/usr/bin/env bash
# Runs the load generator's stall scenario against a fresh server with a
# private PostgreSQL (see scripts/server.sh), prints the figures and stops
# the server: senders send 8 KiB messages at 45/s to recipients that read
# normally, stall and reconnect, or are cut and reconnect, half of them in
# ack mode; every acked seq must reach its recipient. Exits non-zero when an
# acked message was lost or a connection repeated, reordered or skipped one.
# Arguments go to the load generator (e.g. -stall-pairs 48 -ack none). The
# server runs with its default limits; TIM_* variables change them, and the
# generator is told the rate and socket limits.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server.sh

export TIM_SEND_RATE=${TIM_SEND_RATE:-50} TIM_SOCKETS_PER_USER=${TIM_SOCKETS_PER_USER:-10}
start_server
bin/loadtest -url "$url" -pid "$pid" -scenario stall -duration 20s \
	-send-limit "$TIM_SEND_RATE" -socket-limit "$TIM_SOCKETS_PER_USER" "$@"
