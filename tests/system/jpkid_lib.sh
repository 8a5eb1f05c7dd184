# shellcheck shell=bash
# Helpers for the jpkid system tests (after lib.sh):
#
#   jpkid_trap            stop jpkid when the test exits, however it exits
#                         (and call jpkid_exit_hook first, if the test has one)
#   start_jpkid [ARGS]    start jpkid on the CA $D, on $PORT if set (else a
#                         free port, then $PORT is set), access log $T/access.log;
#                         sets JPKID_PID, PORT, URL and waits until it answers
#   stop_jpkid [SIGNAL]   send SIGNAL (TERM) and wait; sets JPKID_STATUS
#   newkey NAME           $T/keys/NAME.pub, an RSA-2048 key from openssl genrsa
#   issue NAME KIND       a certificate from jpki-ca: $T/NAME.pem, SERIAL
#   ossl KIND CERT [ARGS] openssl ocsp at the certificate's own AIA URL,
#                         verified against the CA certificate of KIND
#   wait_status SECONDS WANT CERT REQ: poll (POST of REQ, a DER request,
#                         to the certificate's AIA URL) until openssl reads
#                         the status WANT (good, revoked); fails after SECONDS

JPKID_PID=

jpkid_trap() {
	trap '_jpkid_rc=$?; set +e; ! declare -F jpkid_exit_hook >/dev/null || jpkid_exit_hook; [ -z "$JPKID_PID" ] || kill -9 "$JPKID_PID" 2>/dev/null || true; (exit $_jpkid_rc); _lib_cleanup' EXIT
}

start_jpkid() {
	local i
	rm -f "$T/port"
	"$JPKID" -d "$D" --port "${PORT:-0}" --port-file "$T/port" --access-log "$T/access.log" \
		"$@" >"$T/jpkid.out" 2>"$T/jpkid.err" &
	JPKID_PID=$!
	for i in $(seq 1 200); do
		[ -s "$T/port" ] && break
		kill -0 "$JPKID_PID" 2>/dev/null || fail "jpkid exited at start: $(cat "$T/jpkid.err")"
		sleep 0.025
	done
	[ -s "$T/port" ] || fail "jpkid wrote no port file in 5 s"
	PORT=$(cat "$T/port")
	URL="http://127.0.0.1:$PORT"
	curl -sf -o /dev/null "$URL/health" || fail "jpkid does not answer /health on $URL"
}

stop_jpkid() {
	local sig=${1:-TERM}
	JPKID_STATUS=0
	kill -s "$sig" "$JPKID_PID"
	wait "$JPKID_PID" || JPKID_STATUS=$?
	JPKID_PID=
}

newkey() {
	mkdir -p "$T/keys"
	openssl genrsa -out "$T/keys/$1.key" 2048 2>/dev/null || fail "openssl genrsa $1"
	openssl rsa -in "$T/keys/$1.key" -pubout -out "$T/keys/$1.pub" 2>/dev/null ||
		fail "openssl rsa -pubout $1"
}

issue() { # NAME KIND: uses the key $T/keys/${KEY:-NAME}.pub
	local name=$1 kind=$2
	if [ "$kind" = sign ]; then
		run_ok "$J" -d "$D" issue --kind sign --pubkey "$T/keys/${KEY:-$name}.pub" \
			--dob 1977-11-07 --name "山田　太郎" --sex 1 --address "東京都千代田区千代田1-1" \
			--out "$T/$name.pem"
	else
		run_ok "$J" -d "$D" issue --kind auth --pubkey "$T/keys/${KEY:-$name}.pub" \
			--dob 1977-11-07 --out "$T/$name.pem"
	fi
	SERIAL=$(cat "$OUT")
}

ossl() { # KIND CERT [openssl ocsp options before -cert]
	local kind=$1 cert=$2
	shift 2
	openssl ocsp -url "$(openssl x509 -in "$cert" -noout -ocsp_uri)" -issuer "$D/$kind/ca.pem" \
		-CAfile "$D/$kind/ca.pem" "$@" -cert "$cert"
}

# The status openssl reads from a DER response file, unverified ("good", "revoked").
resp_status() {
	openssl ocsp -respin "$1" -noverify -resp_text 2>/dev/null |
		sed -n 's/^ *Cert Status: \([a-z]*\).*/\1/p' | head -n 1
}

wait_status() { # SECONDS WANT CERT REQ
	local secs=$1 want=$2 cert=$3 req=$4 deadline st
	deadline=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		curl -s --data-binary @"$req" -H 'Content-Type: application/ocsp-request' \
			-o "$T/poll.der" "$(openssl x509 -in "$cert" -noout -ocsp_uri)" || true
		st=$(resp_status "$T/poll.der")
		[ "$st" = "$want" ] && { pass "$cert $want within ${secs}s"; return 0; }
		[ "$(date +%s%N)" -lt "$deadline" ] || fail "$cert still '$st' ${secs}s after the change"
		sleep 0.02
	done
}
