#!/usr/bin/env bash
# Runs the README's curl session (scripts/readme-session.sh) as written
# against a fresh server: bin/tim with a private PostgreSQL in a temporary
# data directory, on READMECHECK_PORT (default 18091). Fails when a response
# is not {"code":200,...}, when one is missing, or when the downloaded
# picture differs from the uploaded one. Needs bin/tim (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

data=$(mktemp -d -t tim-readme-XXXXXX)
chmod 755 "$data" # a private PostgreSQL may run as another user
port=${READMECHECK_PORT:-18091}
pid=""
cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$data"
}
trap cleanup EXIT

TIM_DATA_DIR="$data/data" TIM_ADDR="127.0.0.1:$port" bin/tim >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "server exited:"; cat "$data/server.log"; exit 1
	fi
	sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null

mkdir "$data/work"
out=$(cd "$data/work" && BASE="http://127.0.0.1:$port" bash "$root/scripts/readme-session.sh") || {
	echo "the README session failed:"; echo "$out"; exit 1
}
echo "$out"

# Six JSON answers are printed (two registrations, addFriend, getFriends,
# joinGroup, logout), each with code 200.
codes=$(grep -o '"code":[0-9]*' <<<"$out" | sort | uniq -c | sed 's/^ *//')
if [[ "$codes" != '6 "code":200' ]]; then
	echo "want six answers with code 200, got: $codes"; exit 1
fi
grep -qx 'downloaded what was uploaded' <<<"$out" || { echo "the picture did not come back"; exit 1; }
echo "README session: ok"
