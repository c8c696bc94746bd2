# Sourced by the scenario scripts (stall.sh, storm.sh). start_server builds
# bin/tim and bin/loadtest, starts bin/tim with a private PostgreSQL in a
# temporary data directory, waits until it is ready and sets pid, port and
# url; on exit the server is stopped and the directory removed. Settings are
# the server's defaults unless a TIM_* variable in the environment says
# otherwise. SERVER_LOG=path keeps the server's log; SERVER_PORT picks the
# port (default 18082).

start_server() {
	go build -o bin/tim ./cmd/tim
	go build -o bin/loadtest ./cmd/loadtest
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	data=$(mktemp -d -t tim-scenario-XXXXXX)
	chmod 755 "$data" # a private PostgreSQL may run as another user
	port=${SERVER_PORT:-18082}
	url="http://127.0.0.1:$port"
	log=${SERVER_LOG:-$data/server.log}
	pid=""
	trap stop_server EXIT

	# The scenarios register many accounts from one address: only that
	# limit is raised unless the environment says otherwise.
	TIM_DATA_DIR="$data" TIM_ADDR="127.0.0.1:$port" TIM_LOG_LEVEL="${TIM_LOG_LEVEL:-warn}" \
		TIM_REGISTRATIONS_PER_ADDRESS="${TIM_REGISTRATIONS_PER_ADDRESS:-1000000}" \
		bin/tim >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do
		if curl -fsS "$url/readyz" >/dev/null 2>&1; then
			echo "server pid $pid on port $port"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "server exited:"; cat "$log"; exit 1
		fi
		sleep 0.2
	done
	echo "server not ready after 60s"; exit 1
}

stop_server() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$data"
}
