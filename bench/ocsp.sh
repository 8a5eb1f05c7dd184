#!/usr/bin/env bash
# OCSP benchmark: jpkid against `openssl ocsp -index` on the same set of
# certificates, in one run.  N certificates (default 100,000, one in ten
# revoked) are put in a CA's store and in an index.txt; wrk POSTs K
# pre-made requests (default 10,000, SHA-1 CertIDs, no nonce) spread over
# them, to jpkid (responses pre-signed: --prefill sha1) and to
# `openssl ocsp -multi 2 -nmin 60`; both rates, their ratio and p50/p99
# latency are printed.  Loopback; wrk -c16 with WRK_THREADS threads.
# WRK_THREADS defaults to 1 on a machine of 2 CPUs or fewer (the client then
# takes one core, not a share of both; with two wrk threads jpkid's rate is
# about the same but its p99 rises from ~0.2 ms to ~3 ms, the loops waiting
# behind wrk for a core), and to 2 otherwise.  Both servers get the same.
# Usage: bash bench/ocsp.sh [N] [SECONDS] [K]
#   (bench/run.sh --ocsp runs it on its Release build; B=DIR picks a build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
SECS=${2:-10}
K=${3:-10000}
if [ -z "${WRK_THREADS:-}" ]; then
	if [ "$(nproc)" -le 2 ]; then WRK_THREADS=1; else WRK_THREADS=2; fi
fi
if [ -z "${B:-}" ]; then
	bash scripts/build.sh build-bench -DCMAKE_BUILD_TYPE=Release
	B=$PWD/build-bench
fi
command -v wrk >/dev/null || { echo "ocsp.sh: wrk not found (Debian package wrk)" >&2; exit 1; }
W=$(mktemp -d)
JPID=
OPID=
# openssl ocsp -multi: SIGTERM to the parent ends its children too; what is
# left after two seconds (a child spinning on a closed connection) is killed.
stop_openssl() {
	local kids p
	[ -n "$OPID" ] || return 0
	kids=$(ps -o pid= --ppid "$OPID" 2>/dev/null || true)
	kill "$OPID" 2>/dev/null || true
	for _ in $(seq 1 20); do kill -0 "$OPID" 2>/dev/null || break; sleep 0.1; done
	for p in $OPID $kids; do kill -9 "$p" 2>/dev/null || true; done
	wait "$OPID" 2>/dev/null || true
	OPID=
}
cleanup() {
	stop_openssl
	if [ -n "$JPID" ]; then
		kill "$JPID" 2>/dev/null || true
		wait "$JPID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_wrk URL OUT [WARM]: SECS seconds with the latency spread, after a 2 s
# warm-up when WARM is 1.  (Not for openssl ocsp: the connections wrk drops
# at the end of a run leave its children spinning, so it gets one run.)
run_wrk() {
	[ "${3:-0}" = 0 ] || wrk -t"$WRK_THREADS" -c16 -d2s -s "$W/post.lua" "$1" >/dev/null 2>&1 || true
	wrk -t"$WRK_THREADS" -c16 -d"${SECS}s" --latency -s "$W/post.lua" "$1" >"$2" 2>&1
}
rate() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# pct FILE 50|99: that percentile in milliseconds
pct() {
	awk -v p="$2%" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
	  if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.3f", v }' "$1"
}
status_of() { # RESPONSE_FILE: good / revoked
	openssl ocsp -respin "$1" -noverify -resp_text 2>/dev/null | sed -n 's/^ *Cert Status: \([a-z]*\).*/\1/p'
}

echo "== OCSP: $N certificates (10% revoked), $K requests spread over them, wrk -t$WRK_THREADS -c16 -d${SECS}s"
"$B/jpki-ca" -d "$W/ca" init --test --partition-size $((N + 1))
"$B/bench_ocsp_fill" "$W/ca" "$N" "$W/index.txt" "$W/post.lua" "$K"

# jpkid, every response signed before the run (like the peer's, valid 60 minutes)
"$B/jpkid" -d "$W/ca" --port 0 --port-file "$W/jport" --prefill sha1 --ocsp-validity 3600 \
	--cache-max $((N + 1000)) >/dev/null &
JPID=$!
for _ in $(seq 1 200); do [ -s "$W/jport" ] && break; sleep 0.05; done
JURL="http://127.0.0.1:$(cat "$W/jport")"
t0=$(date +%s)
until curl -sf "$JURL/health" | grep -q '"prefill_left":0}'; do sleep 0.5; done
echo "jpkid: $N responses pre-signed in $(($(date +%s) - t0)) s"

run_wrk "$JURL/ocsp/sign" "$W/jpkid.out" 1

OPORT=$(free_port)
openssl ocsp -index "$W/index.txt" -port "$OPORT" -rsigner "$W/ca/sign/ca.pem" \
	-rkey "$W/ca/sign/ca.key" -CA "$W/ca/sign/ca.pem" -multi 2 -nmin 60 >/dev/null 2>&1 &
OPID=$!
OURL="http://127.0.0.1:$OPORT/"
until curl -s -o /dev/null --data-binary @"$W/post.lua.good.der" "$OURL"; do sleep 0.2; done

# Both give the same answers (checked with openssl, outside the timing).
for kind in good revoked; do
	for u in "$JURL/ocsp/sign" "$OURL"; do
		curl -s --data-binary @"$W/post.lua.$kind.der" -H 'Content-Type: application/ocsp-request' \
			-o "$W/ans.der" "$u"
		got=$(status_of "$W/ans.der")
		[ "$got" = "$kind" ] || { echo "ocsp.sh: $u answers '$got' for the $kind request" >&2; exit 1; }
	done
done
run_wrk "$OURL" "$W/openssl.out"
stop_openssl
jr=$(rate "$W/jpkid.out")
or=$(rate "$W/openssl.out")
printf 'jpkid:         %10.1f responses/s  p50 %7s ms  p99 %7s ms\n' "$jr" "$(pct "$W/jpkid.out" 50)" "$(pct "$W/jpkid.out" 99)"
printf 'openssl ocsp:  %10.1f responses/s  p50 %7s ms  p99 %7s ms\n' "$or" "$(pct "$W/openssl.out" 50)" "$(pct "$W/openssl.out" 99)"
grep -h -E 'Non-2xx|Socket errors' "$W/jpkid.out" | sed 's/^/jpkid: /' || true
awk -v a="$jr" -v b="$or" -v p="$(pct "$W/jpkid.out" 99)" 'BEGIN {
  printf "OCSP rate ratio: %.1fx (goal >= 40x); jpkid p99 %s ms (goal < 5 ms)\n", a / b, p }'
