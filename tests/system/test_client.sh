#!/usr/bin/env bash
# jpki, the resident's client, against the virtual card (jpki-card run) in a
# private pcscd through vpcd (peers.md), in a mount namespace of its own; and
# jpki-service, the demo relying party.  Checks: readers, card, cert show
# (basic, DER, JSON), CA fingerprints against a published list (match and a
# loud mismatch), PIN status and change (guessable values refused, wrong
# tries counted), `jpki sign` output accepted by `openssl cms -verify`,
# `jpki verify` telling tampering, a wrong anchor and revocation apart,
# `jpki status` by OCSP (openssl ocsp as the responder) and by CRL when OCSP
# is gone (python3 -m http.server serving the CA's CRL files on the same
# port), `jpki login` against jpki-service (good, on hold, revoked), the
# application endpoint in JSON and multipart, the expiry warning (JPKI_NOW),
# Japanese messages, a wrong reader and a removed card.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card_lib.sh"

PY=/usr/bin/python3
card_require_peers
skip_unless_cmd "$PY" "Debian's python3"
skip_unless_cmd curl
skip_unless_cmd ss "Debian package iproute2"
card_enter_namespace "$@"
J=$(need_prog jpki)
CARD=$(need_prog jpki-card)
CA=$(need_prog jpki-ca)
SVC=$(need_prog jpki-service)
JPKID=$(need_prog jpkid)
make_tmp
card_setup

SIGN_PW=ABC123
AUTH_PIN=1234
R0=$CARD_READER0
HTTP_PID=
OCSP_PID=
SVC_PID=
JPKID_PID=

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
HTTP_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
note "vpcd port $CARD_PORT, status server $BASE"

stop_pid() { # stop_pid PID: TERM, then wait (bounded)
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	_wait_gone "$1" 10 || { kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
}
cleanup_servers() {
	stop_pid "$HTTP_PID"
	stop_pid "$OCSP_PID"
	stop_pid "$SVC_PID"
	stop_pid "$JPKID_PID"
}
# The status the test ends with goes through to _card_cleanup (it reads $?).
trap 'rc=$?; set +e; cleanup_servers; (exit "$rc"); _card_cleanup' EXIT

# wait_port PORT: until something listens on PORT (bounded).  Asked of the
# kernel (ss), not by connecting: a probe connection that sends nothing
# holds `openssl ocsp` (it serves one connection at a time) forever.
wait_port() {
	local n=100
	while [ -z "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || fail "nothing listens on port $1 after 10 s"
		sleep 0.1
	done
}

# ---- the Agency, the card ------------------------------------------------------------
run_ok "$CA" -d "$T/ca" init --test --base-url "$BASE"
run_ok "$CA" -d "$T/ca2" init --test
run_ok openssl ecparam -name prime256v1 -genkey -noout -out "$T/issuer.pem"
run_ok "$CARD" new "$T/card" --issuer-key "$T/issuer.pem"
run_ok "$CARD" personalize "$T/card" --issuer-key "$T/issuer.pem" --ca-dir "$T/ca" \
	--dob 1977-11-07 --name '山田　太郎' --sex 1 --address '東京都千代田区霞が関二丁目1番2号' \
	--sign-pin "$SIGN_PW" --auth-pin "$AUTH_PIN" --out "$T/issued"
AUTH_SERIAL=$(awk '$1=="auth" {print $2}' "$OUT")
SIGN_SERIAL=$(awk '$1=="sign" {print $2}' "$OUT")
[ -n "$AUTH_SERIAL" ] && [ -n "$SIGN_SERIAL" ] || fail "no serials from personalize"
SIGN_CA="$T/issued/sign-ca.pem"
AUTH_CA="$T/issued/auth-ca.pem"
run_ok "$CA" -d "$T/ca" crl

pcscd_start
card_run card "$T/card" "$CARD_PORT"
wait_card "$R0" present 15

jp() { "$J" -r "$R0" "$@"; }

# ---- readers, card, certificates -----------------------------------------------------
run_ok "$J" readers
expect_output_has "^$R0	JPKI card \\(JPKIAPICCTOKEN2\\)$"
expect_output_has "^$CARD_READER1	no card$"
run_ok jp card
expect_output_has '^card +Individual Number Card \(JPKIAPICCTOKEN2\)'
expect_output_has '^authentication certificate +present, expires 20[0-9-]+T14:59:59Z \(令和'
expect_output_has '^signature certificate +present \(readable after the signing password\)'
expect_output_has '^authentication PIN +tries left 3$'
expect_output_has '^signing password +tries left 5$'
run_ok jp card --json
expect_output_has '"label":"JPKIAPICCTOKEN2"'
expect_output_has '"pins":\{"auth":3,"sign":5\}'

run_ok jp cert show auth
expect_output_has '^authentication certificate$'
expect_output_has '^Expires	20[0-9-]+T14:59:59Z \(令和[0-9元]+年'
expect_output_has '^Issuer	OU=Japan Agency for Local Authority Information Systems, OU=JPKI for user authentication, O=JPKI-TEST, C=JP$'
echo "$SIGN_PW" >"$T/pw"
_run jp cert show sign --pin-stdin <"$T/pw"
[ "$STATUS" -eq 0 ] || fail_run "cert show sign"
expect_output_has '^Name	山田　太郎$'
expect_output_has '^Date of birth	昭和52年11月7日 \(1977-11-07\)$'
expect_output_has '^Sex	male$'
expect_output_has '^Address	東京都千代田区霞が関二丁目1番2号$'
expect_output_has '^Issued	20[0-9-]+T[0-9:]+Z \(令和'
_run jp cert show sign --der -o "$T/sign-card.der" --pin-stdin <"$T/pw"
[ "$STATUS" -eq 0 ] || fail_run "cert show sign --der"
openssl x509 -in "$T/issued/sign.pem" -outform DER -out "$T/sign-issued.der"
expect_same_file "$T/sign-card.der" "$T/sign-issued.der" "cert show sign --der is the issued certificate"
run_ok jp cert show sign-ca --json
expect_output_has '"kind":"sign-ca"'
expect_output_has '"sha256":"([0-9A-F]{2}:){31}[0-9A-F]{2}"'
run_ok jp cert show auth --detail
expect_output_has 'X509v3 CRL Distribution Points'
expect_fail jp cert show sign --pin-stdin </dev/null
expect_exit 2 jp cert show bogus

# ---- CA fingerprints (L12) --------------------------------------------------------------
run_ok "$CA" -d "$T/ca" fingerprint --json
cp "$OUT" "$T/published.json"
run_ok "$CA" -d "$T/ca2" fingerprint --json
cp "$OUT" "$T/other.json"
run_ok jp ca fingerprint --published "$T/published.json"
expect_output_has '^Signing CA	([0-9A-F]{2}:){31}[0-9A-F]{2}	matches the published fingerprint$'
expect_output_has '^User-Authentication CA	.*	matches the published fingerprint$'
expect_exit 43 jp ca fingerprint --published "$T/other.json"
expect_output_has 'DOES NOT MATCH'
expect_output_has 'WARNING: the Signing CA certificate on the card is NOT the one the Agency published' "$ERR"
expect_exit 43 jp ca fingerprint --url "file://$T/other.json" --json
expect_output_has '"match":false'

# ---- PINs (L9) --------------------------------------------------------------------------
run_ok jp pin status
expect_output_has '^authentication PIN	3 of 3 tries left$'
expect_output_has '^signing password	5 of 5 tries left$'
printf '%s\n1111\n' "$AUTH_PIN" >"$T/in"
expect_exit 30 jp pin change auth --pin-stdin <"$T/in"
expect_one_line_err 'easy to guess; nothing was changed'
printf '%s\n1107\n' "$AUTH_PIN" >"$T/in"
expect_exit 30 jp pin change auth --pin-stdin --dob 1977-11-07 <"$T/in"
expect_one_line_err 'date of birth'
printf '%s\nA19771107\n' "$SIGN_PW" >"$T/in"
expect_exit 30 jp pin change sign --pin-stdin <"$T/in"
expect_one_line_err 'date of birth'
printf '%s\nABCDEF\n' "$SIGN_PW" >"$T/in"
expect_exit 30 jp pin change sign --pin-stdin <"$T/in"
printf '9999\n4821\n' >"$T/in"
expect_exit 28 jp pin change auth --pin-stdin <"$T/in"
expect_one_line_err 'wrong authentication PIN: 2 tries left'
run_ok jp pin status --json
expect_output_has '"auth":\{"tries_left":2,"max":3,"blocked":false\}'
printf '%s\n4821\n' "$AUTH_PIN" >"$T/in"
run_ok jp pin change auth --pin-stdin <"$T/in"
expect_output_has '^The authentication PIN was changed.$'
AUTH_PIN=4821
run_ok jp pin status --json
expect_output_has '"auth":\{"tries_left":3'
run_ok env LC_ALL=ja_JP.UTF-8 "$J" -r "$R0" pin status
expect_output_has '^利用者証明用パスワード	残り3回（3回まで）$'

# ---- sign, verify (L13) --------------------------------------------------------------------
printf '転入届\n氏名: 山田 太郎\n' >"$T/doc.txt"
_run jp sign "$T/doc.txt" --pin-stdin <"$T/pw"
[ "$STATUS" -eq 0 ] || fail_run "jpki sign"
expect_output_has "^signed: $T/doc.txt.p7s$"
run_ok openssl cms -verify -binary -content "$T/doc.txt" -inform DER -in "$T/doc.txt.p7s" \
	-CAfile "$SIGN_CA" -out /dev/null
expect_output_has 'Verification successful|^$' "$ERR"
run_ok openssl cms -cmsout -print -inform DER -in "$T/doc.txt.p7s"
expect_output_has 'id-smime-aa-signingCertificateV2|signingCertificateV2'
expect_output_has 'signingTime'
run_ok jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$SIGN_CA" --no-status
expect_output_has '^The signature is valid.$'
expect_output_has '^Name	山田　太郎$'
cp "$T/doc.txt" "$T/doc-changed.txt"
echo "追記" >>"$T/doc-changed.txt"
expect_exit 40 jp verify "$T/doc-changed.txt" "$T/doc.txt.p7s" --ca "$SIGN_CA" --no-status
expect_one_line_err 'changed after it was signed'
expect_fail openssl cms -verify -binary -content "$T/doc-changed.txt" -inform DER \
	-in "$T/doc.txt.p7s" -CAfile "$SIGN_CA" -out /dev/null
expect_exit 43 jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$T/ca2/sign/ca.pem" --no-status
expect_one_line_err 'not issued by the trusted Signing CA'
expect_exit 43 jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$AUTH_CA" --no-status
# The anchor from the card when --ca is not given.
run_ok jp verify "$T/doc.txt" "$T/doc.txt.p7s" --no-status --json
expect_output_has '"result":"valid"'
expect_output_has '"name":"山田　太郎"'

# ---- status by OCSP (L15) ------------------------------------------------------------------
# index.txt lines for openssl ocsp: V or R, expiry, revocation time+reason, serial.
ocsp_start() { # ocsp_start INDEX-LINE-STATUS [REVOCATION]
	printf '%s\t491231235959Z\t%s\t%s\tunknown\t/CN=auth\n' "$1" "${2:-}" "$AUTH_SERIAL" >"$T/index.txt"
	openssl ocsp -index "$T/index.txt" -port "$HTTP_PORT" -rsigner "$AUTH_CA" \
		-rkey "$T/ca/auth/ca.key" -CA "$AUTH_CA" -nmin 10 >>"$T/ocsp.log" 2>&1 &
	OCSP_PID=$!
	wait_port "$HTTP_PORT"
}
ocsp_start V
run_ok jp status
expect_output_has '^authentication certificate: good \(not revoked\)$'
expect_output_has "^  checked by OCSP $BASE/ocsp/auth "
run_ok jp status auth --json
expect_output_has '"state":"good","source":"ocsp"'
stop_pid "$OCSP_PID"
OCSP_PID=
ocsp_start R "261101000000Z,certificateHold"
expect_exit 44 jp status
expect_output_has 'ON HOLD \(temporarily suspended\) since 2026-11-01T00:00:00Z'
expect_output_has 'the hold can be lifted at your municipal office window'
stop_pid "$OCSP_PID"
OCSP_PID=
ocsp_start R "261101000000Z,keyCompromise"
expect_exit 38 jp status --json
expect_output_has '"state":"revoked","source":"ocsp","url":"[^"]+","reason":"keyCompromise","since":"2026-11-01T00:00:00Z"'
stop_pid "$OCSP_PID"
OCSP_PID=

# The Agency's own server, jpkid, on the same URL: OCSP from the store and the
# published fingerprints.
"$JPKID" -d "$T/ca" --port "$HTTP_PORT" >>"$T/jpkid.log" 2>&1 &
JPKID_PID=$!
wait_port "$HTTP_PORT"
run_ok jp ca fingerprint --url "$BASE/ca/fingerprints"
expect_output_has '^Signing CA	.*	matches the published fingerprint$'
run_ok jp status --json
expect_output_has '"state":"good","source":"ocsp"'
_run jp status sign --pin-stdin <"$T/pw"
[ "$STATUS" -eq 0 ] || fail_run "status sign by jpkid"
expect_output_has "^  checked by OCSP $BASE/ocsp/sign "
stop_pid "$JPKID_PID"
JPKID_PID=

# Nothing listens: status unavailable.
expect_exit 41 jp status
expect_one_line_err 'OCSP: .*CRL: '

# ---- status by CRL when OCSP does not answer ------------------------------------------------
mkdir -p "$T/www"
publish() { # the CA's CRLs, as a web server would serve them
	run_ok "$CA" -d "$T/ca" crl
	rm -rf "$T/www/crl"
	cp -r "$T/ca/crl" "$T/www/crl"
}
publish
(cd "$T/www" && exec "$PY" -m http.server "$HTTP_PORT" --bind 127.0.0.1 >>"$T/http.log" 2>&1) &
HTTP_PID=$!
wait_port "$HTTP_PORT"
run_ok jp status
expect_output_has '^authentication certificate: good'
expect_output_has "^  checked by CRL $BASE/crl/auth/0.crl "
expect_output_has '^  \(OCSP not used: .*HTTP 501'
_run jp status sign --pin-stdin --json <"$T/pw"
[ "$STATUS" -eq 0 ] || fail_run "status sign"
expect_output_has '"state":"good","source":"crl"'
run_ok jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$SIGN_CA"
expect_output_has 'checked by CRL'

# ---- login (L14) and applications (L13) against jpki-service --------------------------------
"$SVC" --sign-ca "$SIGN_CA" --auth-ca "$AUTH_CA" --port 0 --port-file "$T/svc.port" \
	>>"$T/svc.log" 2>&1 &
SVC_PID=$!
n=100
while [ ! -s "$T/svc.port" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$T/svc.port" ] || fail "jpki-service wrote no port file"
SVC_URL="http://127.0.0.1:$(cat "$T/svc.port")"
echo "$AUTH_PIN" >"$T/pin"
_run jp login "$SVC_URL" --pin-stdin <"$T/pin"
[ "$STATUS" -eq 0 ] || fail_run "jpki login"
expect_output_has "^logged in to $SVC_URL$"
_run jp login "$SVC_URL/" --pin-stdin --json <"$T/pin"
[ "$STATUS" -eq 0 ] || fail_run "jpki login --json"
expect_output_has '"result":"ok"'
expect_output_has '"status":\{"state":"good","source":"crl"\}'
# A challenge is used once; a made-up response is refused.
run_ok curl -s "$SVC_URL/login/challenge"
expect_output_has '"id":"[0-9a-f]{32}","challenge":"[A-Za-z0-9+/]{43}="'
_run curl -s -o "$T/ans" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d '{"id":"00000000000000000000000000000000","certificate":"AA==","signature":"AA=="}' \
	"$SVC_URL/login"
expect_eq "$(cat "$OUT")" 403 "unknown challenge: 403"
expect_output_has '"error":"challenge"' "$T/ans"

# Applications: JSON and multipart.
DOC64=$(base64 -w0 "$T/doc.txt")
SIG64=$(base64 -w0 "$T/doc.txt.p7s")
printf '{"document":"%s","signature":"%s"}' "$DOC64" "$SIG64" >"$T/apply.json"
run_ok curl -s -H 'Content-Type: application/json' --data-binary "@$T/apply.json" "$SVC_URL/apply"
expect_output_has '"result":"accepted"'
expect_output_has '"name":"山田　太郎","dob":"1977-11-07","dob_code":"319771107","sex":1'
run_ok curl -s -F "document=@$T/doc.txt" -F "signature=@$T/doc.txt.p7s" "$SVC_URL/apply"
expect_output_has '"result":"accepted"'
run_ok curl -s -F "document=@$T/doc-changed.txt" -F "signature=@$T/doc.txt.p7s" "$SVC_URL/apply"
expect_output_has '"result":"refused","error":"signature_invalid"'
run_ok curl -s "$SVC_URL/"
expect_output_has 'enctype="multipart/form-data"'

# The authentication certificate on hold, released, revoked.
run_ok "$CA" -d "$T/ca" hold --kind auth --serial "$AUTH_SERIAL"
publish
expect_exit 44 jp login "$SVC_URL" --pin-stdin <"$T/pin"
expect_output_has 'refused the login: certificate on hold' "$ERR"
run_ok "$CA" -d "$T/ca" release --kind auth --serial "$AUTH_SERIAL"
run_ok "$CA" -d "$T/ca" crl --kind auth --delta
rm -rf "$T/www/crl" && cp -r "$T/ca/crl" "$T/www/crl"
_run jp login "$SVC_URL" --pin-stdin <"$T/pin"
[ "$STATUS" -eq 0 ] || fail_run "login after the hold was released (delta CRL)"
run_ok "$CA" -d "$T/ca" revoke --kind auth --serial "$AUTH_SERIAL" --reason cessationOfOperation
publish
expect_exit 38 jp login "$SVC_URL" --pin-stdin <"$T/pin"
expect_exit 38 jp status

# The signature certificate revoked: verify and the service say so.
run_ok "$CA" -d "$T/ca" revoke --kind sign --serial "$SIGN_SERIAL" --reason keyCompromise
publish
expect_exit 38 jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$SIGN_CA"
expect_one_line_err "signer's certificate is revoked \(keyCompromise, since 20"
run_ok curl -s -F "document=@$T/doc.txt" -F "signature=@$T/doc.txt.p7s" "$SVC_URL/apply"
expect_output_has '"error":"revoked".*"reason":"keyCompromise"'
# Offline with CRL files at hand.
expect_exit 38 jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$SIGN_CA" --no-ocsp \
	--crl "$T/ca/crl/sign/0.crl" --crl "$T/ca/crl/sign/0-delta.crl"

# ---- expiry (L5) -----------------------------------------------------------------------------
NA=$(openssl x509 -in "$T/issued/auth.pem" -noout -enddate -dateopt iso_8601 | sed 's/^notAfter=//')
SOON=$(date -u -d "$NA - 40 days" +%Y-%m-%dT%H:%M:%SZ)
AFTER=$(date -u -d "$NA + 2 days" +%Y-%m-%dT%H:%M:%SZ)
JPKI_NOW=$SOON run_ok jp pin status
expect_output_has 'warning: the authentication certificate expires on .* \((39|40) days left\): renew it' "$ERR"
JPKI_NOW=$AFTER expect_exit 39 jp status
expect_output_has 'expired on' "$ERR"
JPKI_NOW=$AFTER expect_exit 39 jp verify "$T/doc.txt" "$T/doc.txt.p7s" --ca "$SIGN_CA" --no-status

# ---- readers and cards that are not there ------------------------------------------------------
expect_exit 32 "$J" -r "No Such Reader" card
expect_one_line_err "no card reader found: no reader named 'No Such Reader'.*connect an IC card reader"
kill -USR1 "${CARD_PIDS[card]}"
wait_card "$R0" absent 10
expect_exit 33 jp card
expect_one_line_err 'no card in the reader: .*insert your Individual Number Card'
expect_exit 33 env LC_ALL=ja_JP.UTF-8 "$J" -r "$R0" card
expect_one_line_err 'カードが挿入されていません'
run_ok "$J" revoke --help
expect_output_has "online window"
expect_exit 2 "$J" revoke
expect_one_line_err 'reason lost\|stolen\|broken\|misused\|voluntary'
# The online revocation itself is in test_online_window; without the card it
# says so before anything is sent.
expect_exit 33 jp revoke both --reason lost --yes
expect_one_line_err 'no card in the reader'

cleanup_servers
HTTP_PID= OCSP_PID= SVC_PID= JPKID_PID=
card_kill card TERM
pcscd_stop
summary
