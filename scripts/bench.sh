#!/usr/bin/env bash
# Runs the load generator's default scenario against a fresh server with a
# private PostgreSQL in a temporary data directory, prints the figures
# (idle connections, direct pairs, groups) with whether each target is met,
# and stops the server. `make bench` builds bin/tim and bin/loadtest first.
# Arguments go to the load generator (e.g. -scenario direct -rate 12000);
# BENCH_LOG=path keeps the server's log.
set -euo pipefail
cd "$(dirname "$0")/.."

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
data=$(mktemp -d -t tim-bench-XXXXXX)
chmod 755 "$data" # a private PostgreSQL may run as another user
port=${BENCH_PORT:-18081}
log=${BENCH_LOG:-$data/server.log} # BENCH_LOG keeps the server log
pid=""
cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$data"
}
trap cleanup EXIT

# Protection limits are raised so that the generator, not the limits, is measured.
TIM_DATA_DIR="$data" TIM_ADDR="127.0.0.1:$port" TIM_LOG_LEVEL=warn \
TIM_SEND_RATE=1000000 TIM_SEND_BURST=1000000 TIM_SOCKETS_PER_USER=100000 \
TIM_SOCKET_QUEUE_BYTES=16777216 TIM_LOGIN_FAILURES_PER_ADDRESS=1000000 \
TIM_REGISTRATIONS_PER_ADDRESS=1000000 \
	bin/tim >"$log" 2>&1 &
pid=$!

for _ in $(seq 1 300); do
	if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "server exited:"; cat "$log"; exit 1
	fi
	sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null

echo "bench: server pid $pid on port $port"
bin/loadtest -url "http://127.0.0.1:$port" -pid "$pid" "$@"
