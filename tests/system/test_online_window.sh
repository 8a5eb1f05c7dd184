#!/usr/bin/env bash
# The Agency's online window on jpkid (docs/online-window.md): the validity
# check (L15), the suspension line (L8, an authenticated operator), online
# revocation signed by the card (L7, `jpki revoke`: refused when the
# signature, the time, the nonce or the signer is wrong), the office API's
# authentication; every refusal is in the audit log.  The card is issued at
# the window into the virtual reader and used through a private pcscd.
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
CA=$(need_prog jpki-ca)
CARD=$(need_prog jpki-card)
OFFICE=$(need_prog jpki-office)
JPKID=$(need_prog jpkid)
make_tmp
card_setup

JPKID_PID=
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
trap 'rc=$?; set +e; [ -z "$JPKID_PID" ] || { kill -TERM "$JPKID_PID" 2>/dev/null; wait "$JPKID_PID" 2>/dev/null; }; (exit "$rc"); _card_cleanup' EXIT

D=$T/ca
ID=(--id-kind passport --id-number TK1234567)
SIGN_PW=ABC123
AUTH_PIN=1234

run_ok "$CA" -d "$D" init --test --base-url "$BASE"
run_ok openssl ecparam -name prime256v1 -genkey -noout -out "$T/issuer.pem"
export JPKI_ISSUER_KEY=$T/issuer.pem
printf 'window-pass-1\n' | run_ok "$OFFICE" -d "$D" operator-add tanaka --pin-stdin
printf 'line-pass-22\n' | JPKI_OPERATOR=tanaka JPKI_OPERATOR_SECRET=window-pass-1 \
	run_ok "$OFFICE" -d "$D" operator-add line1 --pin-stdin
export JPKI_OPERATOR=tanaka JPKI_OPERATOR_SECRET=window-pass-1
run_ok "$OFFICE" -d "$D" --json register --name '窓口　一郎' --kana 'マドグチ　イチロウ' \
	--dob 1980-04-01 --sex 1 --address '東京都千代田区霞が関２丁目１番２号' "${ID[@]}"
RES=$(sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p' "$OUT")

run_ok "$CARD" new "$T/card" --issuer-key "$T/issuer.pem"
pcscd_start
card_run card "$T/card" "$CARD_PORT"
wait_card "$CARD_READER0" present 15
printf '%s\n%s\n' "$SIGN_PW" "$AUTH_PIN" |
	run_ok "$OFFICE" -d "$D" --json issue "$RES" --reader "$CARD_READER0" --pin-stdin "${ID[@]}"
SIGN1=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
AUTH1=$(sed -n 's/.*"auth_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
[ -n "$SIGN1" ] && [ -n "$AUTH1" ] || fail_run "no serials from the issuance"

"$JPKID" -d "$D" --port "$PORT" --access-log "$T/access.log" >>"$T/jpkid.log" 2>&1 &
JPKID_PID=$!
n=100
while [ -z "$(ss -ltnH "sport = :$PORT" 2>/dev/null)" ]; do
	n=$((n - 1)); [ "$n" -gt 0 ] || fail "jpkid does not listen"; sleep 0.1
done

jp() { "$J" -r "$CARD_READER0" "$@"; }
status_sign() { printf '%s\n' "$SIGN_PW" | jp status sign --pin-stdin; }
# post PATH FILE [curl options]: the answer in $OUT, the status in $CODE.
post() {
	local path=$1 file=$2
	shift 2
	CODE=$(curl -s -o "$OUT" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$file" "$@" "$BASE$path")
}

# ---- the validity check (L15) ----------------------------------------------------------
run_ok jp cert show auth --pem -o "$T/auth.pem"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/auth.pem" "$BASE/window/validity")
expect_eq "$CODE" 200 "validity of the auth certificate: HTTP 200"
expect_output_has '"status":"good","ca":"auth","serial":"'"$AUTH1"'"'
openssl x509 -in "$T/auth.pem" -outform DER -out "$T/auth.der"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/auth.der" "$BASE/window/validity")
expect_output_has '"status":"good"'
run_ok "$CA" -d "$T/other" init --test
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/other/auth/ca.pem" "$BASE/window/validity")
expect_eq "$CODE" 200 "a certificate of another CA: answered"
expect_output_has '^\{"status":"unknown"\}$'
printf 'not a certificate' >"$T/junk"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/junk" "$BASE/window/validity")
expect_eq "$CODE" 400 "junk: 400"
expect_output_has '"error":"the body is not a certificate'

# ---- the suspension line (L8) --------------------------------------------------------
printf '{"resident":"%s"}' "$RES" >"$T/line.json"
post /line/suspend "$T/line.json"
expect_eq "$CODE" 401 "the line without an operator"
post /line/suspend "$T/line.json" -u line1:wrong-password
expect_eq "$CODE" 401 "the line with a wrong credential"
printf '{"resident":' >"$T/bad.json"
post /line/suspend "$T/bad.json" -u line1:line-pass-22
expect_eq "$CODE" 400 "the line with broken JSON"
post /line/suspend "$T/line.json" -u line1:line-pass-22
expect_eq "$CODE" 200 "the line suspends the card"
expect_output_has '"held":\{"sign":"'"$SIGN1"'","auth":"'"$AUTH1"'"\}'
REF_LINE=$(sed -n 's/.*"ref":"\([0-9-]*\)".*/\1/p' "$OUT")
post /line/suspend "$T/line.json" -u line1:line-pass-22
expect_eq "$CODE" 409 "a suspended card cannot be suspended again"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/auth.pem" "$BASE/window/validity")
expect_output_has '"status":"hold".*"reason":"certificateHold"'
# Within jpkid's poll interval, OCSP says so too.
sleep 0.5
expect_exit 44 jp status auth
# The window releases the auth hold and issues a new signature certificate (L8).
run_ok "$OFFICE" -d "$D" release "$RES" "${ID[@]}"
printf '%s\n' "$SIGN_PW" |
	run_ok "$OFFICE" -d "$D" --json reissue "$RES" sign --reader "$CARD_READER0" --pin-stdin "${ID[@]}"
SIGN2=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
[ -n "$SIGN2" ] || fail_run "no new signature certificate"
sleep 0.5
run_ok jp status auth

# ---- online revocation: requests made by hand and signed with `jpki sign` -------------
# The request of `jpki revoke` is a detached CAdES-BES signature over a JSON text,
# which is what `jpki sign` makes of a file.
mkreq() { # mkreq FILE WHICH REASON TIME NONCE: a signed request body in FILE.json
	printf '{"type":"jpki-online-revoke","which":"%s","reason":"%s","time":"%s","nonce":"%s"}' \
		"$2" "$3" "$4" "$5" >"$1"
	printf '%s\n' "$SIGN_PW" | run_ok jp sign "$1" --pin-stdin -o "$1.p7s"
	printf '{"request":"%s","signature":"%s"}' "$(base64 -w0 "$1")" "$(base64 -w0 "$1.p7s")" \
		>"$1.json"
}
now() { date -u -d "${1:-now}" +%Y-%m-%dT%H:%M:%SZ; }
NONCE1=00112233445566778899aabbccddeeff
mkreq "$T/stale" sign voluntary "$(now '-1 hour')" "$NONCE1"
post /window/revoke "$T/stale.json"
expect_eq "$CODE" 403 "a request an hour old"
expect_output_has 'more than 5 minutes'
mkreq "$T/forauth" auth voluntary "$(now)" 0123456789abcdef0123456789abcdef
post /window/revoke "$T/forauth.json"
expect_eq "$CODE" 403 "auth revocation signed with the signing key"
expect_output_has 'does not verify with the auth CA'
mkreq "$T/ok" sign voluntary "$(now)" ffeeddccbbaa99887766554433221100
cp "$T/ok.json" "$T/tampered.json"
"$PY" - "$T/tampered.json" "$T/ok" <<'EOF'
import base64, json, sys
body = json.load(open(sys.argv[1]))
req = open(sys.argv[2], 'rb').read().replace(b'"voluntary"', b'"misused"')
body['request'] = base64.b64encode(req).decode()
json.dump(body, open(sys.argv[1], 'w'))
EOF
post /window/revoke "$T/tampered.json"
expect_eq "$CODE" 403 "a request changed after signing"
printf '{"request":"!!","signature":"AAAA"}' >"$T/garbage.json"
post /window/revoke "$T/garbage.json"
expect_eq "$CODE" 400 "garbage"
run_ok status_sign
# Nonces of requests older than twice the 5-minute window are pruned as new
# ones are taken (two left by requests an hour ago, one of the old key form).
OLD_T=$(($(date +%s) - 3600))
sqlite3 -cmd ".timeout 5000" "$D/ca.db" "INSERT INTO docs VALUES
	('nonce', printf('%012d-%s', $OLD_T, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), 'time=$OLD_T'),
	('nonce', printf('%012d-%s', $OLD_T + 1, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'), 'time=$OLD_T'),
	('nonce', '0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'time=$OLD_T')"
nonces() { sqlite3 -cmd ".timeout 5000" "$D/ca.db" "SELECT key FROM docs WHERE kind = 'nonce' ORDER BY key"; }
expect_eq "$(nonces | wc -l)" 3 "three old nonces before"
# The good one is accepted once: the signature certificate is revoked.
post /window/revoke "$T/ok.json"
expect_eq "$CODE" 200 "the signed request"
expect_eq "$(nonces | grep -c -v -- '-ffeeddccbbaa99887766554433221100$' || true)" 0 "old nonces pruned"
expect_eq "$(nonces | grep -c -E '^[0-9]{12}-ffeeddccbbaa99887766554433221100$')" 1 \
	"the request's nonce kept, under its time"
expect_output_has '"accepted":true,"ref":"[0-9]{8}-[0-9]{6}".*"revoked":\{"sign":"'"$SIGN2"'"\}.*"reason":"cessationOfOperation"'
post /window/revoke "$T/ok.json"
expect_eq "$CODE" 403 "the same request again"
expect_output_has 'nonce seen'
sleep 0.5
expect_exit 38 status_sign
run_ok jp status auth

# ---- `jpki revoke` --------------------------------------------------------------------
expect_exit 2 jp revoke auth
expect_one_line_err 'reason'
expect_exit 2 jp revoke everything --reason lost
# Without a terminal and without --yes nothing is sent.
expect_fail jp revoke auth --reason misused --pin-stdin </dev/null
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/auth.pem" "$BASE/window/validity")
expect_output_has '"status":"good"'
printf '%s\n' "$AUTH_PIN" | run_ok jp revoke auth --reason misused --yes --pin-stdin
expect_output_has '^The online window accepted the revocation\.$'
expect_output_has "^  reference number: [0-9]{8}-[0-9]{6}$"
expect_output_has "^  revoked: authentication certificate \\(serial $AUTH1\\)$"
expect_output_has '^  reason: keyCompromise'
sleep 0.5
expect_exit 38 jp status auth
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --data-binary "@$T/auth.pem" "$BASE/window/validity")
expect_output_has '"status":"revoked".*"reason":"keyCompromise"'
# Now nothing on the card can sign a revocation.
printf '%s\n' "$AUTH_PIN" | expect_exit 22 jp revoke auth --reason misused --yes --pin-stdin
expect_one_line_err 'already revoked'
expect_exit 22 env LC_ALL=ja_JP.UTF-8 "$J" -r "$CARD_READER0" revoke auth --reason misused --yes --pin-stdin <<<"$AUTH_PIN"
expect_one_line_err 'オンライン窓口が受け付けませんでした'

# ---- the office API: authentication ---------------------------------------------------
printf '{"fn":"registry_get","args":{"id":"%s"}}' "$RES" >"$T/call.json"
post /office/call "$T/call.json"
expect_eq "$CODE" 401 "an office call without a token"
post /office/call "$T/call.json" -H "Authorization: Bearer $(printf '%064d' 0)"
expect_eq "$CODE" 401 "an office call with a made-up token"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' -X POST -u tanaka:nope "$BASE/office/login")
expect_eq "$CODE" 401 "office login with a wrong credential"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' -X POST -u tanaka:window-pass-1 "$BASE/office/login")
expect_eq "$CODE" 200 "office login"
TOKEN=$(sed -n 's/.*"token":"\([0-9A-Fa-f]*\)".*/\1/p' "$OUT")
[ ${#TOKEN} -eq 64 ] || fail_run "no token"
post /office/call "$T/call.json" -H "Authorization: Bearer $TOKEN"
expect_eq "$CODE" 200 "an office call with the token"
expect_output_has '"rc":0,"result":\{"resident":\{"id":"'"$RES"'"'
printf '{"fn":"format_disk","args":{}}' >"$T/call2.json"
post /office/call "$T/call2.json" -H "Authorization: Bearer $TOKEN"
expect_eq "$CODE" 404 "an unknown function"
printf '{"fn":"registry_get","args":{"id":7}}' >"$T/call3.json"
post /office/call "$T/call3.json" -H "Authorization: Bearer $TOKEN"
expect_eq "$CODE" 400 "a wrong argument"
expect_output_has "argument 'id'"

# ---- the audit log ------------------------------------------------------------------------
run_ok "$CA" -d "$D" audit verify
run_ok "$CA" -d "$D" audit show
expect_output_has '\(none\) +line-suspend +refused.*no operator credential'
expect_output_has 'line1 +login +refused|login +refused.*line1'
expect_output_has 'line1 +suspend +'
expect_output_has 'online-revoke +refused.*more than 5 minutes'
expect_output_has 'online-revoke +refused.*does not verify'
expect_output_has 'online-revoke +refused.*nonce seen'
expect_output_has 'online:[0-9]+ +revoke +'
expect_output_has '\(none\) +/office/call +refused.*no token'
expect_output_has '\(none\) +/office/call +refused.*unknown or expired token'
expect_output_has 'tanaka +office-login +refused'
expect_output_has 'tanaka +office-login +ok'
expect_output_has 'tanaka +office:registry_get +ok'
expect_output_has 'tanaka +office:registry_get +refused'
summary
