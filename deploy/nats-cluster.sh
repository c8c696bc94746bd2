#!/usr/bin/env bash
# A three-node NATS cluster for Tim on loopback ports, with authentication:
# clients log in with a user and password (or a token), and the nodes' routes
# with a route user and password of their own. Everything the cluster keeps
# (configuration, credentials, logs, pid files) lives in DIR.
#
#   deploy/nats-cluster.sh start DIR    start the nodes not running, wait until
#                                       they are ready and routed, print TIM_NATS_URL
#   deploy/nats-cluster.sh stop DIR     stop the nodes (SIGTERM, then SIGKILL after 10 s)
#   deploy/nats-cluster.sh status DIR   one line per node: running or stopped, with its pid
#   deploy/nats-cluster.sh url DIR      print TIM_NATS_URL=... for Tim
#
# Settings (environment):
#   NATS_SERVER          the nats-server binary. Default: build bin/nats-server
#                        from the module pinned in go.mod when go is installed,
#                        else nats-server on PATH (Debian's package nats-server).
#   NATS_CLIENT_PORTS    client ports of the three nodes, default "4222 4223 4224"
#   NATS_ROUTE_PORTS     cluster route ports, default "6222 6223 6224"
#   NATS_MONITOR_PORTS   monitoring (HTTP) ports, default "8222 8223 8224"
#   NATS_USER            client user, default tim
#   NATS_PASSWORD        client password; default: drawn at random on the first
#                        start and kept in DIR/cluster.env
#   NATS_TOKEN           a token instead of the user and password
# Credentials are written into URLs, so they may use only A-Z a-z 0-9 . _ ~ -.
# The first start keeps these settings in DIR/cluster.env (mode 600); later
# commands on DIR use them and ignore the environment. Remove DIR to change them.
#
# The nodes listen on 127.0.0.1 only. For machines of their own, give each
# node its host's address, TLS (a tls block) and its own ports, keep the
# authorization blocks, and list every node in TIM_NATS_URL.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
root=$(cd "$(dirname "$0")/.." && pwd)

random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

url_safe() {
	if ! [[ $2 =~ ^[A-Za-z0-9._~-]+$ ]]; then
		echo "nats-cluster: $1 may use only A-Z a-z 0-9 . _ ~ - (it is written into URLs)" >&2
		exit 2
	fi
}

# settings reads DIR/cluster.env, writing it from the environment on the
# first start, and checks it.
settings() {
	local env=$dir/cluster.env
	if [[ ! -f $env ]]; then
		[[ $cmd == start ]] || { echo "nats-cluster: no cluster in $dir" >&2; exit 1; }
		local v
		for v in NATS_CLIENT_PORTS NATS_ROUTE_PORTS NATS_MONITOR_PORTS; do
			if ! [[ ${!v:-1} =~ ^[0-9\ ]+$ ]]; then
				echo "nats-cluster: $v: want three port numbers separated by spaces" >&2
				exit 2
			fi
		done
		for v in NATS_USER NATS_PASSWORD NATS_TOKEN; do
			[[ -z ${!v:-} ]] || url_safe "$v" "${!v}"
		done
		mkdir -p "$dir"
		(
			umask 077
			{
				echo "client_ports='${NATS_CLIENT_PORTS:-4222 4223 4224}'"
				echo "route_ports='${NATS_ROUTE_PORTS:-6222 6223 6224}'"
				echo "monitor_ports='${NATS_MONITOR_PORTS:-8222 8223 8224}'"
				echo "client_user='${NATS_USER:-tim}'"
				echo "client_password='${NATS_PASSWORD:-$(random_secret)}'"
				echo "client_token='${NATS_TOKEN:-}'"
				echo "route_password='$(random_secret)'"
			} >"$env.tmp"
			mv "$env.tmp" "$env"
		)
	fi
	# shellcheck source=/dev/null
	source "$env"
	read -r -a client_ports <<<"$client_ports"
	read -r -a route_ports <<<"$route_ports"
	read -r -a monitor_ports <<<"$monitor_ports"
	local list p
	for list in client_ports route_ports monitor_ports; do
		declare -n ports=$list
		if [[ ${#ports[@]} -ne 3 ]]; then
			echo "nats-cluster: ${list} needs three ports, got '${ports[*]}' (see $env)" >&2
			exit 2
		fi
		for p in "${ports[@]}"; do
			if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
				echo "nats-cluster: ${list}: '$p' is not a port (see $env)" >&2
				exit 2
			fi
		done
	done
	url_safe NATS_USER "$client_user"
	url_safe NATS_PASSWORD "$client_password"
	[[ -z $client_token ]] || url_safe NATS_TOKEN "$client_token"
}

tim_url() {
	local urls=() cred
	if [[ -n $client_token ]]; then
		cred=$client_token
	else
		cred=$client_user:$client_password
	fi
	for p in "${client_ports[@]}"; do
		urls+=("nats://$cred@127.0.0.1:$p")
	done
	(
		IFS=,
		echo "TIM_NATS_URL=${urls[*]}"
	)
}

server_binary() {
	if [[ -n ${NATS_SERVER:-} ]]; then
		echo "$NATS_SERVER"
	elif command -v go >/dev/null 2>&1 && [[ -f $root/go.mod ]]; then
		(cd "$root" && go build -o bin/nats-server github.com/nats-io/nats-server/v2) >&2
		echo "$root/bin/nats-server"
	elif command -v nats-server >/dev/null 2>&1; then
		command -v nats-server
	else
		echo "nats-cluster: no nats-server: install Go or Debian's nats-server, or set NATS_SERVER" >&2
		exit 1
	fi
}

pid_of() { # node number -> pid if the node runs
	local f=$dir/nats-$1/nats.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_config() { # node number
	local i=$1 node=$dir/nats-$1 routes="" auth j
	for j in 1 2 3; do
		((j == i)) || routes+="${routes:+, }nats-route://route:$route_password@127.0.0.1:${route_ports[j - 1]}"
	done
	if [[ -n $client_token ]]; then
		auth="token: \"$client_token\""
	else
		auth="user: \"$client_user\", password: \"$client_password\""
	fi
	mkdir -p "$node"
	(
		umask 077
		cat >"$node/nats.conf" <<-EOF
			# Written by deploy/nats-cluster.sh; rewritten at every start.
			server_name: tim-nats-$i
			host: 127.0.0.1
			port: ${client_ports[i - 1]}
			http: "127.0.0.1:${monitor_ports[i - 1]}"
			pid_file: "$node/nats.pid"
			log_file: "$node/nats.log"
			# As Tim's embedded server: batches of messages up to 8 MiB, and
			# room for a subscriber that falls behind for a while.
			max_payload: 8MB
			max_pending: 256MB
			write_deadline: "10s"
			authorization { $auth }
			cluster {
			  name: tim
			  host: 127.0.0.1
			  port: ${route_ports[i - 1]}
			  authorization { user: route, password: "$route_password" }
			  routes: [ $routes ]
			}
		EOF
	)
}

# monitor GETs path from node i's monitoring port, with bash's /dev/tcp.
monitor() {
	local i=$1 path=$2
	exec 3<>"/dev/tcp/127.0.0.1/${monitor_ports[i - 1]}" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
	cat <&3
	exec 3<&-
}

# routed reports whether node i has routes to both other nodes.
routed() {
	local names
	names=$(monitor "$1" /routez 2>/dev/null | grep -o '"remote_name": *"[^"]*"' | sort -u | wc -l) || return 1
	[[ $names -ge 2 ]]
}

start() {
	settings
	local bin i pid started=()
	bin=$(server_binary)
	for i in 1 2 3; do
		if pid=$(pid_of "$i"); then
			echo "node $i already running (pid $pid)" >&2
			continue
		fi
		write_config "$i"
		rm -f "$dir/nats-$i/nats.pid"
		# A session of its own: the node outlives this shell.
		setsid "$bin" -c "$dir/nats-$i/nats.conf" >>"$dir/nats-$i/stderr.log" 2>&1 </dev/null &
		started+=("$i")
	done
	local deadline=$((SECONDS + 20))
	for i in 1 2 3; do
		until pid_of "$i" >/dev/null && routed "$i"; do
			if ((SECONDS > deadline)); then
				echo "nats-cluster: node $i not ready and routed after 20 s; see $dir/nats-$i/nats.log and stderr.log" >&2
				tail -n 20 "$dir/nats-$i/stderr.log" "$dir/nats-$i/nats.log" >&2 2>/dev/null || true
				exit 1
			fi
			sleep 0.1
		done
	done
	echo "nats cluster running in $dir: client ports ${client_ports[*]}, monitoring ${monitor_ports[*]}" >&2
	tim_url
}

stop() {
	settings
	local i pid pids=()
	for i in 1 2 3; do
		if pid=$(pid_of "$i"); then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	local deadline=$((SECONDS + 10))
	for pid in "${pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null; do
			if ((SECONDS > deadline)); then
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
	done
	rm -f "$dir"/nats-*/nats.pid
	echo "nats cluster in $dir stopped" >&2
}

status() {
	settings
	local i pid rc=0
	for i in 1 2 3; do
		if pid=$(pid_of "$i"); then
			echo "node $i: running (pid $pid), client port ${client_ports[i - 1]}"
		else
			echo "node $i: stopped"
			rc=3
		fi
	done
	return $rc
}

case $cmd in
start) start ;;
stop) stop ;;
status) status ;;
url)
	settings
	tim_url
	;;
*) usage ;;
esac
