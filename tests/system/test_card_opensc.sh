#!/usr/bin/env bash
# OpenSC (its jpki driver, pkcs15-tool, the PKCS#11 module) and our own PC/SC
# client against the virtual card: jpki-card run plugged into a private
# pcscd through vpcd, in a mount namespace of its own (peers.md).  The card is
# personalized by jpki-card personalize with certificates from a real CA
# (jpki-ca init --test), so every certificate OpenSC reads is compared with
# the one the CA issued.  Also: removal and insertion (SIGUSR1/SIGUSR2), a
# card pulled in the middle of an operation, jpki-card killed and restarted,
# pcscd restarted under a running jpki-card, and an auth PIN blocked through
# OpenSC.  Every wait is bounded; everything started is killed on exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card_lib.sh"

card_require_peers
card_enter_namespace "$@"
CARD=$(need_prog jpki-card)
CA=$(need_prog jpki-ca)
make_tmp
card_setup
note "vpcd on port $CARD_PORT; OpenSC $(opensc-tool --info 2>/dev/null | head -n 1 || true)"

SIGN_PW=ABC123
AUTH_PIN=1234

# ---- a personalized card ---------------------------------------------------------
run_ok "$CA" -d "$T/ca" init --test
run_ok openssl ecparam -name prime256v1 -genkey -noout -out "$T/issuer.pem"
run_ok "$CARD" new "$T/card" --issuer-key "$T/issuer.pem"
run_ok "$CARD" personalize "$T/card" --issuer-key "$T/issuer.pem" --ca-dir "$T/ca" \
	--dob 1977-11-07 --name '山田　太郎' --sex 1 --address '東京都千代田区霞が関二丁目1番2号' \
	--sign-pin "$SIGN_PW" --auth-pin "$AUTH_PIN" --out "$T/issued"
expect_output_has '^auth	[0-9A-F]+	'
expect_output_has '^sign	[0-9A-F]+	'
cp "$T/card" "$T/card-spare"   # a second card for the removal test

# der NAME PEM: the DER of a PEM certificate into $T/NAME.der
der() {
	openssl x509 -in "$2" -outform DER -out "$T/$1.der" || fail "$2 is no certificate"
}
for c in auth sign auth-ca sign-ca; do der "issued-$c" "$T/issued/$c.pem"; done

# ---- the card in the reader --------------------------------------------------------
pcscd_start
card_run card "$T/card" "$CARD_PORT"
wait_card "$CARD_READER0" present 15
pass "card present in $CARD_READER0"

run_ok opensc-tool -D
expect_output_has '^ +jpki +JPKI'
run_ok opensc-tool --reader "$CARD_READER0" -n
expect_eq "$(tail -n 1 "$OUT")" "jpki" "opensc-tool -n names the card"
note "opensc-tool -n: $(tr '\n' '|' <"$OUT")"
run_ok opensc-tool --reader "$CARD_READER0" -a
expect_output_has '3[bB]:[eE]0:00:[fF][fF]:81:31:[fF][eE]:45:14'

# PINs: both there, tries left from the card (auth 3, sign 5), none spent.
pin_tries() { # pin_tries ID: "Tries left" of the PIN object with that ID in $OUT
	awk -v id="$1" '/^PIN \[/ {cur=""} $1=="ID" {cur=$3} $1=="Tries" && cur==id {print $4}' "$OUT"
}
run_ok pkcs15-tool --reader "$CARD_READER0" --list-pins
expect_output_has 'PIN \[User Authentication PIN\]'
expect_output_has 'PIN \[Digital Signature PIN\]'
expect_eq "$(pin_tries 01)" 3 "auth PIN (ID 01): 3 tries left"
expect_eq "$(pin_tries 02)" 5 "signing password (ID 02): 5 tries left"
note "list-pins: $(grep -E 'PIN \[|ID  |Tries' "$OUT" | tr -s ' \t' ' ' | tr '\n' '|')"

run_ok pkcs15-tool --reader "$CARD_READER0" --list-certificates
expect_output_has 'X.509 Certificate \[User Authentication Certificate\]'
expect_output_has 'X.509 Certificate \[Digital Signature Certificate\]'

# Certificates: exactly what the CA issued (DER compared).
read_cert() { # read_cert ID NAME [pkcs15-tool options]: $T/oc-NAME.der
	local id=$1 name=$2
	shift 2
	run_ok pkcs15-tool --reader "$CARD_READER0" "$@" --read-certificate "$id" -o "$T/oc-$name.pem"
	der "oc-$name" "$T/oc-$name.pem"
	expect_same_file "$T/oc-$name.der" "$T/issued-$name.der" "OpenSC reads certificate $id ($name) as issued"
}
read_cert 01 auth
read_cert 03 auth-ca
read_cert 04 sign-ca
# The signature certificate needs the signing password first (6982 otherwise).
expect_opensc_fail pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 -o "$T/nope.pem"
note "read-certificate 02 without the password: $(tr '\n' ' ' <"$ERR")"
read_cert 02 sign --verify-pin --auth-id 02 --pin "$SIGN_PW"

# PKCS#11: the objects, then a signature with the auth key that openssl verifies.
run_ok pkcs11-tool --module "$CARD_P11" -L
expect_output_has "Virtual PCD 00 00"
expect_output_has 'token label +: JPKI \(User Authentication PIN\)'
expect_output_has 'token label +: JPKI \(Digital Signature PIN\)'
note "pkcs11-tool -L: $(grep -E '^Slot|token label' "$OUT" | tr -s ' ' | tr '\n' '|')"
run_ok pkcs11-tool --module "$CARD_P11" -O
expect_output_has 'Certificate Object; type = X.509 cert'
expect_output_has 'label: +User Authentication Certificate$'
expect_output_has 'Public Key Object; RSA 2048 bits'
cp "$OUT" "$T/p11-objects.txt"
printf 'ログイン要求 %s\n' "$CARD_PORT" >"$T/data"
openssl x509 -in "$T/issued/auth.pem" -pubkey -noout >"$T/auth-pub.pem"
openssl x509 -in "$T/issued/sign.pem" -pubkey -noout >"$T/sign-pub.pem"
run_ok pkcs11-tool --module "$CARD_P11" --token-label "JPKI (User Authentication PIN)" \
	--login --pin "$AUTH_PIN" --sign -m SHA256-RSA-PKCS --id 01 -i "$T/data" -o "$T/sig-auth"
run_ok openssl dgst -sha256 -verify "$T/auth-pub.pem" -signature "$T/sig-auth" "$T/data"
expect_output_has '^Verified OK$'
note "auth key signature: $(cat "$OUT")"
run_ok pkcs11-tool --module "$CARD_P11" --token-label "JPKI (Digital Signature PIN)" \
	--login --pin "$SIGN_PW" --sign -m SHA256-RSA-PKCS --id 02 -i "$T/data" -o "$T/sig-sign"
run_ok openssl dgst -sha256 -verify "$T/sign-pub.pem" -signature "$T/sig-sign" "$T/data"
expect_output_has '^Verified OK$'

# ---- our own PC/SC client (src/lib/reader/pcsc.c) ----------------------------------
run_ok "$CARD" readers
expect_output_has "^$CARD_READER0\$"
expect_output_has "^$CARD_READER1\$"
run_ok "$CARD" info --reader "$CARD_READER0" --sign-pin "$SIGN_PW"
expect_output_has "^reader +$CARD_READER0\$"
expect_output_has '^label +JPKIAPICCTOKEN2 '
expect_output_has '^authentication PIN +3 tries left'
expect_output_has '^signing password +5 tries left'
expect_output_has '^EF 0001 signature certificate +[0-9]+ bytes'
run_ok "$CARD" info --pcsc
expect_output_has "^reader +$CARD_READER0\$"
expect_fail "$CARD" info --reader "No Such Reader"
expect_one_line_err "no card reader found: no reader named 'No Such Reader'"

# ---- removal and insertion by signal -----------------------------------------------
kill -USR1 "${CARD_PIDS[card]}"
wait_card "$CARD_READER0" absent 10
pass "SIGUSR1 removes the card"
expect_exit 33 "$CARD" info --reader "$CARD_READER0"
expect_one_line_err "no card in the reader: reader '$CARD_READER0'"
kill -USR2 "${CARD_PIDS[card]}"
wait_card "$CARD_READER0" present 10
run_ok opensc-tool --reader "$CARD_READER0" -n
expect_eq "$(tail -n 1 "$OUT")" "jpki" "card named jpki after SIGUSR2"

# ---- a card pulled in the middle of an operation -----------------------------------
# The spare card in reader 00 01 leaves after 3 APDUs: SELECT AP, SELECT EF
# 0006, READ BINARY; the next command finds it gone.
card_run spare "$T/card-spare" "$((CARD_PORT + 1))" --remove-after 3
wait_card "$CARD_READER1" present 10
expect_exit 34 "$CARD" info --reader "$CARD_READER1"
expect_one_line_err "card was removed: reader '$CARD_READER1'"
note "mid-operation removal: $(cat "$ERR")"
wait_card "$CARD_READER1" absent 10
card_kill spare

# ---- jpki-card killed and restarted while pcscd runs -------------------------------
card_kill card TERM
expect_output_has 'stopped' "$T/card.log"
wait_card "$CARD_READER0" absent 10
card_run card "$T/card" "$CARD_PORT"
wait_card "$CARD_READER0" present 15
run_ok opensc-tool --reader "$CARD_READER0" -n
expect_eq "$(tail -n 1 "$OUT")" "jpki" "card found again after jpki-card restarted"

# ---- pcscd restarted while jpki-card runs ------------------------------------------
pid_before=${CARD_PIDS[card]}
pcscd_stop
pcscd_start
wait_card "$CARD_READER0" present 20
kill -0 "$pid_before" 2>/dev/null || fail "jpki-card died when pcscd restarted"
expect_eq "${CARD_PIDS[card]}" "$pid_before" "the same jpki-card process"
expect_output_has 'closed the connection; reconnecting' "$T/card.log"
run_ok opensc-tool --reader "$CARD_READER0" -n
expect_eq "$(tail -n 1 "$OUT")" "jpki" "card found again after pcscd restarted"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 01 -o "$T/oc-auth2.pem"

# ---- the auth PIN blocked through OpenSC ----------------------------------------------
for i in 1 2 3; do
	expect_opensc_fail pkcs15-tool --reader "$CARD_READER0" --verify-pin --auth-id 01 --pin 0000
	note "wrong PIN $i: $(grep -v '^Using reader' "$ERR" "$OUT" | sed 's/^[^:]*://' | tr '\n' ' ')"
done
grep -q 'PIN code or key incorrect' "$OUT" "$ERR" || fail "OpenSC does not say the PIN was wrong"
pass "OpenSC: PIN code or key incorrect"
run_ok pkcs15-tool --reader "$CARD_READER0" --list-pins
expect_eq "$(pin_tries 01)" 0 "list-pins: auth PIN 0 tries left"
expect_eq "$(pin_tries 02)" 5 "list-pins: signing password untouched"
note "list-pins when blocked: $(grep -E 'ID  |Tries' "$OUT" | tr -s ' \t' ' ' | tr '\n' '|')"
expect_opensc_fail pkcs15-tool --reader "$CARD_READER0" --verify-pin --auth-id 01 --pin "$AUTH_PIN"
grep -Eq 'blocked|locked' "$OUT" "$ERR" || fail "OpenSC does not say the PIN is blocked"
note "right PIN once blocked: $(grep -v '^Using reader' "$ERR" "$OUT" | sed 's/^[^:]*://' | tr '\n' ' ')"
pass "OpenSC says the PIN is blocked"
expect_opensc_fail pkcs11-tool --module "$CARD_P11" --token-label "JPKI (User Authentication PIN)" \
	--login --pin "$AUTH_PIN" --sign -m SHA256-RSA-PKCS --id 01 -i "$T/data" -o "$T/sig-x"
note "pkcs11-tool login when blocked: $(grep -E 'error|CKR' "$ERR" "$OUT" | sed 's/^[^:]*://' | head -n 2 | tr '\n' ' ')"
run_ok "$CARD" info --pcsc
expect_output_has '^authentication PIN +blocked'

# ---- the end: everything stops cleanly --------------------------------------------------
card_kill card TERM
pcscd_stop
summary
