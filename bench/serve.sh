#!/usr/bin/env bash
# Reproduces the probe server's numbers in BENCHMARKS.md:
#   - /healthz throughput and latency with wrk -t2 -c20 on loopback
#     (metrics on, JSON logging on: every request is counted; only decisions
#     are logged, as in production);
#   - exec to the first 200 on /healthz, START_WAIT_SECS=0;
#   - idle resident memory.
# Needs wrk (apt-get install -y wrk). DURATION (default 10s) sets the wrk run.
#
#   bench/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "serve.sh: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

duration="${DURATION:-10s}"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== build: the image's binary as the Dockerfile builds it (static, trimmed, serve-only),"
echo "   and the full binary whose 'serve' the lab runs for each container"
CGO_ENABLED=0 go build -trimpath -tags serveonly -ldflags "-s -w -X main.version=bench" -o "$tmp/proberctl" .
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=bench" -o "$tmp/proberctl-full" .
go build -o "$tmp/startup" ./bench/startup
echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== start and idle memory: proberctl serve (the image's binary)"
"$tmp/startup" -bin "$tmp/proberctl" -runs 20
echo
echo "== start and idle memory: proberctl serve (the full binary, as the lab runs it)"
"$tmp/startup" -bin "$tmp/proberctl-full" -runs 20

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18099)"
url="http://127.0.0.1:$port/healthz"
# On two cores wrk and the server fight for the same CPUs and the latency
# tail measures the scheduler, not the server. Where taskset exists, give
# each its own core (PIN=0 turns this off), as a load generator on another
# machine would be.
server_cpu="" wrk_cpu=""
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server_cpu="taskset -c 0" wrk_cpu="taskset -c 1"
	echo "pinned: server on CPU 0, wrk on CPU 1"
fi
env PORT="$port" HOSTNAME=bench $server_cpu "$tmp/proberctl" serve >"$tmp/serve.log" &
server_pid=$!
for _ in $(seq 200); do
	curl -fsS -o /dev/null "$url" 2>/dev/null && break
	sleep 0.05
done

echo
echo "== wrk -t2 -c20 -d$duration --latency $url"
$wrk_cpu wrk -t2 -c20 -d3s "$url" >/dev/null # warm up
$wrk_cpu wrk -t2 -c20 -d"$duration" --latency "$url" | tee "$tmp/wrk.txt"
rss_kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")"
echo
echo "summary: $(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.txt") req/s," \
	"p99 $(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")," \
	"VmRSS after the run $((rss_kb / 1024)) MB," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
count="$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^proberctl_http_requests_total\{code="200",route="\/healthz"\}/ {print $2}')"
echo "the server counted $count /healthz requests in its own metrics"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
