#!/usr/bin/env bash
# Runs the load generator's storm scenario against a fresh server with a
# private PostgreSQL (see scripts/server.sh), prints the figures and stops
# the server: 2000 sockets, each with 10 unread messages sent while it was
# offline, reconnect at once; it reports how long until every socket caught
# up, per-socket p50 and p99, and loss, repeats and reordering. Exits
# non-zero when a socket did not catch up or a message was lost, repeated or
# reordered. Arguments go to the load generator (e.g. -storm-sockets 5000
# -storm-per-account 1). The server runs with its default limits; TIM_*
# variables change them, and the generator is told the rate and socket
# limits.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server.sh

export TIM_SEND_RATE=${TIM_SEND_RATE:-50} TIM_SOCKETS_PER_USER=${TIM_SOCKETS_PER_USER:-10}
start_server
bin/loadtest -url "$url" -pid "$pid" -scenario storm \
	-send-limit "$TIM_SEND_RATE" -socket-limit "$TIM_SOCKETS_PER_USER" "$@"
