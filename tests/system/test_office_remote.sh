#!/usr/bin/env bash
# The municipal window against a remote jpkid (jpki-office --server): the
# office keeps no store and no issuer key; every act goes through jpkid's
# office API, and card acts relay the server's card commands to the virtual
# card in the office's own reader (private pcscd + vpcd).  A wrong credential
# refused and audited; register, issue, show, a move (signature revoked,
# authentication still good per `openssl ocsp` against jpkid), suspension and
# release, a new signature certificate, a password initialized, a copy, loss;
# the card pulled out of the reader in the middle of an issuance, then resumed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card_lib.sh"
. "$(dirname "$0")/jpkid_lib.sh"

card_require_peers
skip_unless_cmd curl "Debian package curl"
card_enter_namespace "$@"
OFFICE=$(need_prog jpki-office)
CA=$(need_prog jpki-ca)
CARD=$(need_prog jpki-card)
JPKID=$(need_prog jpkid)
make_tmp
card_setup
# Both cleanups: jpkid first, then the card peers (keeping the test's status).
trap '_rc=$?; set +e; [ -z "$JPKID_PID" ] || kill -9 "$JPKID_PID" 2>/dev/null || true; (exit $_rc); _card_cleanup' EXIT

# The real clock (no JPKI_NOW): openssl checks the OCSP answers' times against it.
unset JPKI_NOW
D=$T/ca
ID=(--id-kind driving-licence --id-number 123456789012)

run_ok "$CA" -d "$D" init --test
run_ok openssl ecparam -name prime256v1 -genkey -noout -out "$T/issuer.pem"
# The office holds no issuer key: only jpkid does (its config's issuer_key).
unset JPKI_ISSUER_KEY
echo "issuer_key = $T/issuer.pem" >"$T/jpkid.conf"
# The first operator is added on the server's side, with the CA directory.
printf 'window-pass-1\n' | run_ok "$OFFICE" -d "$D" operator-add tanaka --pin-stdin

# A free port first, so the certificates jpkid issues name it in their AIA.
start_jpkid -c "$T/jpkid.conf"
stop_jpkid
sed -i "s|^base_url = .*|base_url = $URL|" "$D/jpki.conf"
start_jpkid -c "$T/jpkid.conf"
S=(--server "$URL" --notice-dir "$T/notices")

# ocsp_is WANT KIND CERT: openssl ocsp against jpkid verifies and reads WANT
# (jpkid re-signs within a poll of the change: a few tries).
ocsp_is() {
	local want=$1 kind=$2 cert=$3 i
	for i in $(seq 1 30); do
		_run ossl "$kind" "$cert"
		if [ "$STATUS" -eq 0 ] && grep -q '^Response verify OK' "$ERR" &&
			grep -Eq -- "^[^ ]+: $want" "$OUT"; then
			pass "openssl ocsp: $cert $want"
			return 0
		fi
		sleep 0.1
	done
	fail_run "openssl ocsp: $cert is not '$want'"
}

# ---- the operator: a wrong credential refused, and audited ---------------------------
JPKI_OPERATOR_SECRET=wrong-secret expect_exit 37 "$OFFICE" "${S[@]}" --operator tanaka list
expect_one_line_err 'jpki-office: '
JPKI_OPERATOR_SECRET=whatever-1 expect_exit 37 "$OFFICE" "${S[@]}" --operator intruder list
run_ok "$CA" -d "$D" audit show
expect_output_has 'tanaka +(office-)?login +refused'
expect_output_has 'intruder +(office-)?login +refused'
export JPKI_OPERATOR=tanaka JPKI_OPERATOR_SECRET=window-pass-1
run_ok "$OFFICE" "${S[@]}" list
expect_output_lacks .

# ---- register and issue, through the server ------------------------------------------
run_ok "$OFFICE" "${S[@]}" --json register --name '遠隔　花子' --kana 'エンカク　ハナコ' \
	--dob 1977-11-07 --sex 2 --address '東京都千代田区霞が関２丁目１番２号' "${ID[@]}"
RES=$(sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p' "$OUT")
[ -n "$RES" ] || fail_run "no resident number"
run_ok "$OFFICE" "${S[@]}" list
expect_output_has "^$RES +1977-11-07"

run_ok "$CARD" new "$T/card" --issuer-key "$T/issuer.pem"
pcscd_start
card_run card "$T/card" "$CARD_PORT"
wait_card "$CARD_READER0" present 15
R=(--reader "$CARD_READER0")

printf 'ABC123\n1234\n' | run_ok "$OFFICE" "${S[@]}" --json issue "$RES" "${R[@]}" --pin-stdin "${ID[@]}"
expect_output_has '"state": "done"'
expect_output_has '"operator": "tanaka"'
SIGN1=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
AUTH1=$(sed -n 's/.*"auth_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
NOTICE=$(sed -n 's/.*"notice": "\(.*\)".*/\1/p' "$OUT")
[ -n "$SIGN1" ] && [ -n "$AUTH1" ] || fail_run "no serials in the issuance"
[ -s "$NOTICE" ] || fail "no printable notice at $NOTICE"
expect_eq "$(file_mode "$NOTICE")" 600 "the notice names a resident: mode 600"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 01 -o "$T/card-auth.pem"
expect_eq "$(openssl x509 -in "$T/card-auth.pem" -noout -serial | cut -d= -f2)" "$AUTH1" \
	"the auth certificate on the card"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin ABC123 \
	-o "$T/card-sign.pem"
expect_eq "$(openssl x509 -in "$T/card-sign.pem" -noout -serial | cut -d= -f2)" "$SIGN1" \
	"the signature certificate on the card"
expect_eq "$(openssl x509 -in "$T/card-sign.pem" -noout -ocsp_uri)" "$URL/ocsp/sign" \
	"the certificate names jpkid's OCSP"
ocsp_is good sign "$T/card-sign.pem"
ocsp_is good auth "$T/card-auth.pem"

# ---- show: the same as at a local window ----------------------------------------------
run_ok "$OFFICE" "${S[@]}" show "$RES"
expect_output_has '遠隔　花子'
expect_output_has "sign +$SIGN1 +good"
expect_output_has "auth +$AUTH1 +good"
run_ok "$OFFICE" "${S[@]}" --json show "$RES"
CARDNO=$(sed -n 's/.*"card": "\([0-9]*\)".*/\1/p' "$OUT" | head -n 1)
[ -n "$CARDNO" ] || fail_run "no card number"
expect_output_has "\"serial\": \"$AUTH1\", \"status\": \"good\""

# ---- a move (L6): the signature certificate revoked at once, auth good -----------------
run_ok "$OFFICE" "${S[@]}" change "$RES" --fact address --value '大阪府大阪市北区中之島１丁目３番２０号' \
	--date 2026-12-01
ocsp_is revoked sign "$T/card-sign.pem"
ocsp_is good auth "$T/card-auth.pem"
run_ok "$CA" -d "$D" show --kind sign --serial "$SIGN1" --json
expect_output_has '"reason":"affiliationChanged"'

# ---- the suspension line (L8), release at the window -----------------------------------
run_ok "$OFFICE" "${S[@]}" suspend --card "$CARDNO" --yes
ocsp_is revoked auth "$T/card-auth.pem"
run_ok "$CA" -d "$D" show --kind auth --serial "$AUTH1" --json
expect_output_has '"status":"hold"'
run_ok "$OFFICE" "${S[@]}" release "$RES" "${ID[@]}"
expect_output_has 'hold released'
ocsp_is good auth "$T/card-auth.pem"

# ---- a new signature certificate onto the same card ------------------------------------
printf 'NEWPW2\n' | run_ok "$OFFICE" "${S[@]}" --json reissue "$RES" sign "${R[@]}" --pin-stdin "${ID[@]}"
SIGN2=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
[ -n "$SIGN2" ] || fail_run "no new signature certificate"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin NEWPW2 \
	-o "$T/card-sign2.pem"
expect_eq "$(openssl x509 -in "$T/card-sign2.pem" -noout -serial | cut -d= -f2)" "$SIGN2" \
	"the new signature certificate on the card"
ocsp_is good sign "$T/card-sign2.pem"

# ---- a forgotten signing password (L9) ------------------------------------------------
printf 'FORGOT9\n' | run_ok "$OFFICE" "${S[@]}" pin-init "$RES" sign "${R[@]}" --pin-stdin "${ID[@]}"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin FORGOT9 \
	-o "$T/card-sign3.pem"

# ---- the certificate copy (L11): from the server's store, audited ---------------------
run_ok env LC_ALL=ja_JP.UTF-8 "$OFFICE" "${S[@]}" copy "$RES" sign --html "$T/copy.html" \
	--pem "$T/copy.pem"
expect_output_has '昭和52年11月7日'
[ -s "$T/copy.html" ] || fail "no HTML copy"
expect_eq "$(openssl x509 -in "$T/copy.pem" -noout -serial | cut -d= -f2)" "$SIGN2" \
	"the copy is of the card's signature certificate"
run_ok "$CA" -d "$D" audit show
expect_output_has "tanaka +copy"

# ---- loss (L7): both revoked ---------------------------------------------------------
run_ok "$OFFICE" "${S[@]}" revoke "$RES" --reason lost --yes "${ID[@]}"
ocsp_is revoked sign "$T/card-sign2.pem"
ocsp_is revoked auth "$T/card-auth.pem"
run_ok "$CA" -d "$D" show --kind auth --serial "$AUTH1" --json
expect_output_has '"reason":"keyCompromise"'

# ---- the card pulled out of the reader in the middle of an issuance -------------------
run_ok "$OFFICE" "${S[@]}" --json register --name '抜去　三郎' --kana 'バッキョ　サブロウ' \
	--dob 1990-02-02 --sex 1 --address '東京都港区芝公園４丁目２番８号' "${ID[@]}"
RES3=$(sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p' "$OUT")
run_ok "$CARD" new "$T/card3" --issuer-key "$T/issuer.pem"
card_run card3 "$T/card3" $((CARD_PORT + 1)) --remove-after 24
wait_card "$CARD_READER1" present 15
printf 'PULL11\n2222\n' | expect_exit 34 "$OFFICE" "${S[@]}" issue "$RES3" --reader "$CARD_READER1" \
	--pin-stdin "${ID[@]}"
grep -q 'jpki-office resume' "$ERR" || fail_run "the failure says how to go on"
run_ok "$OFFICE" "${S[@]}" --json pending "$RES3"
REF3=$(sed -n 's/.*"pending": "\([0-9-]*\)".*/\1/p' "$OUT")
[ -n "$REF3" ] || fail_run "the interrupted issuance is pending"
note "card pulled after step $(sed -n 's/.*"step": "\([a-z]*\)".*/\1/p' "$OUT")"
card_kill card3
wait_card "$CARD_READER1" absent 15
card_run card3b "$T/card3" $((CARD_PORT + 1))
wait_card "$CARD_READER1" present 15
printf 'PULL11\n2222\n' | run_ok "$OFFICE" "${S[@]}" --json resume "$REF3" --reader "$CARD_READER1" \
	--pin-stdin
expect_output_has '"state": "done"'
AUTH3=$(sed -n 's/.*"auth_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
run_ok pkcs15-tool --reader "$CARD_READER1" --read-certificate 01 -o "$T/card3-auth.pem"
expect_eq "$(openssl x509 -in "$T/card3-auth.pem" -noout -serial | cut -d= -f2)" "$AUTH3" \
	"after the resume the card holds the issued auth certificate"
ocsp_is good auth "$T/card3-auth.pem"

# ---- the audit log: every remote act in one intact chain ------------------------------
run_ok "$CA" -d "$D" audit verify --json
expect_output_has '"intact":true'

summary
