#!/usr/bin/env bash
# jpkid under load and faults (issue 5): while wrk (or, without it, a loop of
# curl) keeps jpkid busy, a checker (ocsp_check.py watch: Python
# cryptography verifies every answer) judges each response against what the
# test did; a revocation by jpki-ca shows within a second, and no answer is
# wrong before or after it; jpkid killed with SIGKILL and restarted on the
# same port under load answers correctly as soon as it is up.  Bounded: about
# 20 seconds, no assertion on speed.
#
# Needs: openssl, curl, /usr/bin/python3 with cryptography; wrk if present.
set -euo pipefail
# shellcheck source=tests/system/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/system/jpkid_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/jpkid_lib.sh"

PY=/usr/bin/python3
skip_unless_cmd openssl "the OpenSSL command line tool, Debian package openssl"
skip_unless_cmd curl "Debian package curl"
skip_unless_cmd "$PY" "Debian's python3"
"$PY" -c 'import cryptography.x509.ocsp' 2>/dev/null ||
	skip "$PY cannot import cryptography (Debian package python3-cryptography)"
J=$(need_prog jpki-ca)
JPKID=$(need_prog jpkid)
CHK="$JPKI_SRC/tests/system/ocsp_check.py"
LOAD_S=16
make_tmp
jpkid_trap
D="$T/ca"
LOADPID=
WATCHPID=
jpkid_exit_hook() { # the load and the checker go when the test goes
	[ -z "$LOADPID" ] || kill "$LOADPID" 2>/dev/null || true
	[ -z "$WATCHPID" ] || kill "$WATCHPID" 2>/dev/null || true
}

run_ok "$J" -d "$D" init --test
start_jpkid
sed -i "s|^base_url = .*|base_url = $URL|" "$D/jpki.conf"
newkey k
names=(g1 g2 g3 g4 g5 t)
for n in "${names[@]}"; do
	KEY=k issue "$n" sign
	openssl ocsp -issuer "$D/sign/ca.pem" -cert "$T/$n.pem" -no_nonce -reqout "$T/$n.req" 2>/dev/null
done
SER_t=$(openssl x509 -in "$T/t.pem" -noout -serial | sed 's/^serial=//')

note "load for ${LOAD_S}s: every answer 200 and a successful OCSP response"
if command -v wrk >/dev/null 2>&1; then
	{
		echo 'wrk.method = "POST"'
		echo 'wrk.headers["Content-Type"] = "application/ocsp-request"'
		echo 'local bodies = {}'
		for n in "${names[@]}"; do
			echo "do local f = io.open(\"$T/$n.req\", \"rb\"); table.insert(bodies, f:read(\"*a\")); f:close() end"
		done
		cat <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) i = 0; n = 0; bad = 0 end
function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
function response(status, headers, body)
  n = n + 1
  -- OCSPResponse { responseStatus successful, ... } with a two-byte length
  if status ~= 200 or string.sub(body, 5, 7) ~= "\10\1\0" then bad = bad + 1 end
end
function done(summary, latency, requests)
  local tn, tb = 0, 0
  for _, t in ipairs(threads) do tn = tn + t:get("n"); tb = tb + t:get("bad") end
  io.write(string.format("lua: responses %d bad %d\n", tn, tb))
end
LUA
	} >"$T/load.lua"
	wrk -t1 -c8 -d"${LOAD_S}s" -s "$T/load.lua" "$URL/ocsp/sign" >"$T/load.out" 2>&1 &
	LOADPID=$!
else
	note "wrk not found (Debian package wrk): a loop of curl instead"
	(
		end=$(($(date +%s) + LOAD_S))
		n=0 bad=0
		while [ "$(date +%s)" -lt "$end" ]; do
			for r in "${names[@]}"; do
				code=$(curl -s -o "$T/l.der" -w '%{http_code}' --data-binary @"$T/$r.req" "$URL/ocsp/sign" || true)
				[ "$code" = 000 ] && continue # down: the restart
				n=$((n + 1))
				[ "$code" = 200 ] && [ "$(head -c 7 "$T/l.der" | tail -c 3 | od -An -tx1 | tr -d ' ')" = 0a0100 ] ||
					bad=$((bad + 1))
			done
		done
		echo "lua: responses $n bad $bad"
	) >"$T/load.out" 2>&1 &
	LOADPID=$!
fi
"$PY" "$CHK" watch "$URL/ocsp/sign" "$D/sign/ca.pem" --good "$T"/g?.pem --target "$T/t.pem" \
	--marks "$T/mark" --seconds $((LOAD_S - 2)) >"$T/watch.out" 2>&1 &
WATCHPID=$!
sleep 3

note "a revocation under load: revoked within 1 s, and never wrong"
date +%s.%N >"$T/mark.start"
run_ok "$J" -d "$D" revoke --kind sign --serial "$SER_t" --reason keyCompromise
date +%s.%N >"$T/mark.done"
wait_status 1 revoked "$T/t.pem" "$T/t.req"
sleep 3

note "SIGKILL and a restart on the same port under load: right from the first answer"
stop_jpkid KILL
[ "$JPKID_STATUS" -eq 137 ] || fail "jpkid status $JPKID_STATUS after SIGKILL"
start_jpkid
run_ok curl -sf --data-binary @"$T/t.req" -o "$T/t.after" "$URL/ocsp/sign"
expect_eq "$(resp_status "$T/t.after")" revoked "the revoked certificate, first answer after the restart"
run_ok curl -sf --data-binary @"$T/g1.req" -o "$T/g1.after" "$URL/ocsp/sign"
expect_eq "$(resp_status "$T/g1.after")" good "a good certificate, after the restart"

wait "$WATCHPID" || true
WATCHPID=
cat "$T/watch.out"
grep -q '^checked [0-9]* wrong 0 ' "$T/watch.out" || fail "the checker found wrong answers: $(grep WRONG "$T/watch.out" | head -n 5)"
checked=$(sed -n 's/^checked \([0-9]*\) .*/\1/p' "$T/watch.out")
[ "$checked" -ge 20 ] || fail "the checker judged only $checked answers"
pass "checker: $checked answers verified, none wrong"
wait "$LOADPID" || true
LOADPID=
cat "$T/load.out"
grep -q '^lua: responses [0-9]* bad 0$' "$T/load.out" || fail "load: bad answers: $(cat "$T/load.out")"
pass "load: every answer a successful OCSP response"
stop_jpkid TERM
expect_eq "$JPKID_STATUS" 0 "exit status after SIGTERM under load"
summary
