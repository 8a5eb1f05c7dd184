#!/usr/bin/env bash
# The municipal window (jpki-office) walks a resident through a life, with the
# card in a real PC/SC reader (the virtual card through a private pcscd and
# vpcd): issuance, a move (signature certificate revoked, auth still good per
# `openssl verify -crl_check`), a new signature certificate, a locked PIN
# unlocked, suspension and release, a forgotten password, renewal, loss; the
# 2004-era card; an act interrupted after a step and resumed; operators
# refused and audited; the audit log checked and a tampered entry found.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card_lib.sh"

card_require_peers
card_enter_namespace "$@"
OFFICE=$(need_prog jpki-office)
CA=$(need_prog jpki-ca)
CARD=$(need_prog jpki-card)
make_tmp
card_setup

export JPKI_NOW=2026-11-21T01:00:00Z
D=$T/ca
ID=(--id-kind driving-licence --id-number 123456789012)

run_ok "$CA" -d "$D" init --test
run_ok openssl ecparam -name prime256v1 -genkey -noout -out "$T/issuer.pem"
export JPKI_ISSUER_KEY=$T/issuer.pem

# ---- operators: named and authenticated, refusals audited ---------------------------
printf 'window-pass-1\n' | run_ok "$OFFICE" -d "$D" operator-add tanaka --pin-stdin
JPKI_OPERATOR_SECRET=wrong-secret expect_exit 37 "$OFFICE" -d "$D" --operator tanaka list
expect_one_line_err 'tanaka.*wrong credential'
JPKI_OPERATOR_SECRET=whatever-1 expect_exit 37 "$OFFICE" -d "$D" --operator intruder list
printf 'other-pass-2\n' | expect_exit 37 "$OFFICE" -d "$D" operator-add suzuki --pin-stdin
export JPKI_OPERATOR=tanaka JPKI_OPERATOR_SECRET=window-pass-1
run_ok "$CA" -d "$D" audit show
expect_output_has 'login +refused +window +wrong credential'
expect_output_has 'intruder +login +refused'

# ---- the registry ------------------------------------------------------------------
expect_exit 2 "$OFFICE" -d "$D" register --name '個人　花子' --kana 'コジン　ハナコ' \
	--dob 1977-11-07 --sex 2 --address '東京都千代田区霞が関２丁目１番２号'
expect_output_lacks . # nothing registered without photo ID
run_ok "$OFFICE" -d "$D" --json register --name '個人　花子' --kana 'コジン　ハナコ' \
	--dob 1977-11-07 --sex 2 --address '東京都千代田区霞が関２丁目１番２号' "${ID[@]}"
RES=$(sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p' "$OUT")
[ -n "$RES" ] || fail_run "no resident number"
expect_exit 27 "$OFFICE" -d "$D" register --name 'x' --kana 'x' --dob 2099-01-01 --sex 2 \
	--address '東京都千代田区' "${ID[@]}"
expect_one_line_err '2099'

# ---- the card in the reader: issuance (L2, L3) ----------------------------------------
run_ok "$CARD" new "$T/card" --issuer-key "$T/issuer.pem"
pcscd_start
card_run card "$T/card" "$CARD_PORT"
wait_card "$CARD_READER0" present 15
R=(--reader "$CARD_READER0")

printf 'ABC123\n1234\n' | run_ok "$OFFICE" -d "$D" --json issue "$RES" "${R[@]}" --pin-stdin "${ID[@]}"
SIGN1=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
AUTH1=$(sed -n 's/.*"auth_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
NOTICE=$(sed -n 's/.*"notice": "\(.*\)".*/\1/p' "$OUT")
[ -n "$SIGN1" ] && [ -n "$AUTH1" ] || fail_run "no serials in the issuance"
[ -s "$NOTICE" ] || fail "no printable notice at $NOTICE"
expect_eq "$(file_mode "$NOTICE")" 600 "the notice names a resident: mode 600"
/usr/bin/python3 -c 'import html.parser,sys; html.parser.HTMLParser().feed(open(sys.argv[1]).read())' \
	"$NOTICE" || fail "notice HTML does not parse"
pass "notice written and parses as HTML"

# What OpenSC reads from the card is what the CA issued.
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 01 -o "$T/card-auth.pem"
expect_eq "$(openssl x509 -in "$T/card-auth.pem" -noout -serial | cut -d= -f2)" "$AUTH1" \
	"the auth certificate on the card"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin ABC123 \
	-o "$T/card-sign.pem"
expect_eq "$(openssl x509 -in "$T/card-sign.pem" -noout -serial | cut -d= -f2)" "$SIGN1" \
	"the signature certificate on the card"

# crl_ok KIND PEM: openssl verify -crl_check with freshly published CRLs.
crl_pem() {
	"$CA" -d "$D" crl >/dev/null || fail "crl"
	openssl crl -inform DER -in "$D/crl/$1/0.crl" -out "$T/$1.crl.pem"
}
crl_ok() {
	crl_pem "$1"
	run_ok openssl verify -crl_check -CAfile "$D/$1/ca.pem" -CRLfile "$T/$1.crl.pem" "$2"
}
crl_revoked() {
	crl_pem "$1"
	expect_fail openssl verify -crl_check -CAfile "$D/$1/ca.pem" -CRLfile "$T/$1.crl.pem" "$2"
	grep -q 'certificate revoked' "$OUT" "$ERR" || fail_run "$2 should be revoked"
	pass "$1 certificate revoked per openssl verify -crl_check"
}
crl_ok sign "$T/card-sign.pem"
crl_ok auth "$T/card-auth.pem"

# The certificate copy (L11), in Japanese.
run_ok env LC_ALL=ja_JP.UTF-8 "$OFFICE" -d "$D" copy "$RES" sign --html "$T/copy.html"
expect_output_has '昭和52年11月7日'
expect_output_has '有効期間の満了日'
[ -s "$T/copy.html" ] || fail "no HTML copy"

# ---- a move (L6): the signature certificate dies at once, auth stays good ------------
run_ok "$OFFICE" -d "$D" change "$RES" --fact address --value '大阪府大阪市北区中之島１丁目３番２０号' \
	--date 2026-12-01
crl_revoked sign "$T/card-sign.pem"
crl_ok auth "$T/card-auth.pem"
run_ok "$CA" -d "$D" show --kind sign --serial "$SIGN1" --json
expect_output_has '"reason":"affiliationChanged"'

# A new signature certificate onto the same card (new key, new password).
printf 'NEWPW2\n' | run_ok "$OFFICE" -d "$D" --json reissue "$RES" sign "${R[@]}" --pin-stdin "${ID[@]}"
SIGN2=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin NEWPW2 \
	-o "$T/card-sign2.pem"
expect_eq "$(openssl x509 -in "$T/card-sign2.pem" -noout -serial | cut -d= -f2)" "$SIGN2" \
	"the new signature certificate on the card"
openssl x509 -in "$T/card-sign2.pem" -noout -ext subjectAltName -nameopt utf8 >"$T/san.txt" 2>&1 || true
crl_ok sign "$T/card-sign2.pem"

# ---- a locked PIN (L9): 3 wrong tries, unlocked at the window ----------------------
APDU_SEL=00:A4:04:0C:0A:D3:92:F0:00:26:01:00:00:00:01
run_ok opensc-tool --reader "$CARD_READER0" -s "$APDU_SEL" -s 00:A4:02:0C:02:00:18 \
	-s 00:20:00:80:04:39:39:39:39 -s 00:20:00:80:04:39:39:39:38 -s 00:20:00:80:04:39:39:39:37 \
	-s 00:20:00:80
expect_output_has 'SW1=0x63, SW2=0xC0'
run_ok "$OFFICE" -d "$D" pin-init "$RES" auth --unlock "${R[@]}" "${ID[@]}"
run_ok opensc-tool --reader "$CARD_READER0" -s "$APDU_SEL" -s 00:A4:02:0C:02:00:18 -s 00:20:00:80
expect_output_has 'SW1=0x63, SW2=0xC3'
run_ok opensc-tool --reader "$CARD_READER0" -s "$APDU_SEL" -s 00:A4:02:0C:02:00:18 \
	-s 00:20:00:80:04:31:32:33:34
expect_output_has 'SW1=0x90, SW2=0x00'

# ---- loss and suspension (L8), release at the window -----------------------------
CARDNO=$("$OFFICE" -d "$D" --json show "$RES" | sed -n 's/.*"card": "\([0-9]*\)".*/\1/p' | head -n 1)
[ -n "$CARDNO" ] || fail "no card number"
expect_fail "$OFFICE" -d "$D" suspend --card "$CARDNO" </dev/null   # no terminal: needs --yes
run_ok "$OFFICE" -d "$D" suspend --card "$CARDNO" --yes
crl_revoked auth "$T/card-auth.pem"
crl_revoked sign "$T/card-sign2.pem"
run_ok "$CA" -d "$D" show --kind auth --serial "$AUTH1" --json
expect_output_has '"status":"hold"'
run_ok "$OFFICE" -d "$D" release "$RES" "${ID[@]}"
expect_output_has 'reissue'
crl_ok auth "$T/card-auth.pem"
crl_revoked sign "$T/card-sign2.pem"
printf 'NEWPW3\n' | run_ok "$OFFICE" -d "$D" --json reissue "$RES" sign "${R[@]}" --pin-stdin "${ID[@]}"

# ---- a forgotten signing password (L9) ----------------------------------------------
printf 'FORGOT9\n' | run_ok "$OFFICE" -d "$D" pin-init "$RES" sign "${R[@]}" --pin-stdin "${ID[@]}"
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin FORGOT9 \
	-o "$T/card-sign3.pem"

# ---- renewal (L5): refused early with the first allowed date, then done --------------
printf '5678\n' | expect_exit 22 "$OFFICE" -d "$D" renew "$RES" auth "${R[@]}" --pin-stdin "${ID[@]}"
expect_one_line_err '2031-08-07'
printf '5678\n' | JPKI_NOW=2031-09-01T01:00:00Z run_ok "$OFFICE" -d "$D" --json renew "$RES" auth \
	"${R[@]}" --pin-stdin "${ID[@]}"
AUTH2=$(sed -n 's/.*"auth_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
run_ok "$CA" -d "$D" show --kind auth --serial "$AUTH1" --json
expect_output_has '"reason":"superseded"'

# ---- an act interrupted after a step, and resumed ------------------------------------
printf 'SIGN44\n' | JPKI_FAULT_AFTER=certs expect_exit 14 "$OFFICE" -d "$D" reissue "$RES" sign \
	"${R[@]}" --pin-stdin "${ID[@]}"
grep -q 'jpki-office resume' "$ERR" || fail_run "the failure says how to go on"
run_ok "$OFFICE" -d "$D" --json pending "$RES"
REF=$(sed -n 's/.*"pending": "\([0-9-]*\)".*/\1/p' "$OUT")
expect_output_has '"step": "certs"'
printf 'SIGN44\n' | run_ok "$OFFICE" -d "$D" --json resume "$REF" "${R[@]}" --pin-stdin
expect_output_has '"state": "done"'
run_ok pkcs15-tool --reader "$CARD_READER0" --read-certificate 02 --verify-pin --auth-id 02 --pin SIGN44 \
	-o "$T/card-sign4.pem"
crl_ok sign "$T/card-sign4.pem"

# ---- the card pulled out of the reader in the middle of an issuance -------------------
run_ok "$OFFICE" -d "$D" --json register --name '抜去　三郎' --kana 'バッキョ　サブロウ' --dob 1990-02-02 \
	--sex 1 --address '東京都港区芝公園４丁目２番８号' "${ID[@]}"
RES3=$(sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p' "$OUT")
run_ok "$CARD" new "$T/card3" --issuer-key "$T/issuer.pem"
card_run card3 "$T/card3" $((CARD_PORT + 1)) --remove-after 24
wait_card "$CARD_READER1" present 15
printf 'PULL11\n2222\n' | expect_exit 34 "$OFFICE" -d "$D" issue "$RES3" --reader "$CARD_READER1" \
	--pin-stdin "${ID[@]}"
run_ok "$OFFICE" -d "$D" --json pending "$RES3"
REF3=$(sed -n 's/.*"pending": "\([0-9-]*\)".*/\1/p' "$OUT")
[ -n "$REF3" ] || fail_run "the interrupted issuance is pending"
note "card pulled after step $(sed -n 's/.*"step": "\([a-z]*\)".*/\1/p' "$OUT")"
# Put back: the same card file (saved whole after every change), served again.
card_kill card3
wait_card "$CARD_READER1" absent 15
card_run card3b "$T/card3" $((CARD_PORT + 1))
wait_card "$CARD_READER1" present 15
printf 'PULL11\n2222\n' | run_ok "$OFFICE" -d "$D" --json resume "$REF3" --reader "$CARD_READER1" --pin-stdin
expect_output_has '"state": "done"'
AUTH3=$(sed -n 's/.*"auth_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
run_ok pkcs15-tool --reader "$CARD_READER1" --read-certificate 01 -o "$T/card3-auth.pem"
expect_eq "$(openssl x509 -in "$T/card3-auth.pem" -noout -serial | cut -d= -f2)" "$AUTH3" \
	"after the resume the card holds the issued auth certificate"
crl_ok auth "$T/card3-auth.pem"

# ---- loss (L7): both revoked, keyCompromise ------------------------------------------
run_ok "$OFFICE" -d "$D" revoke "$RES" --reason lost --yes "${ID[@]}"
expect_output_has 'keyCompromise|紛失|loss|lost'
crl_revoked sign "$T/card-sign4.pem"
run_ok "$CA" -d "$D" show --kind auth --serial "$AUTH2" --json
expect_output_has '"reason":"keyCompromise"'

# ---- the 2004-era card (L1, L4), through the in-process reader ------------------------
run_ok "$OFFICE" -d "$D" --json register --name '住基　一郎' --kana 'ジュウキ　イチロウ' --dob 1950-04-01 \
	--sex 1 --address '東京都千代田区霞が関１丁目１番１号' "${ID[@]}"
RES2=$(sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p' "$OUT")
run_ok "$CARD" new "$T/old.card" --issuer-key "$T/issuer.pem" --2004
printf 'OLD123\n' | JPKI_NOW=2010-05-01T01:00:00Z run_ok "$OFFICE" -d "$D" --json issue "$RES2" \
	--card-file "$T/old.card" --pin-stdin "${ID[@]}"
expect_output_has '"fee": "500"'
expect_output_has '"auth_new": ""'
OLDSIGN=$(sed -n 's/.*"sign_new": "\([0-9A-F]*\)".*/\1/p' "$OUT")
run_ok "$CA" -d "$D" show --kind sign --serial "$OLDSIGN" --json
expect_output_has '"not_after":"2013-05-01T14:59:59Z"'
printf 'NEW123\n' | JPKI_NOW=2012-01-10T01:00:00Z expect_exit 22 "$OFFICE" -d "$D" reissue "$RES2" sign \
	--card-file "$T/old.card" --pin-stdin "${ID[@]}"
grep -q '2004-era' "$ERR" || fail_run "refused because it is a 2004-era card"
run_ok "$CARD" new "$T/new.card" --issuer-key "$T/issuer.pem"
printf 'NEW123\n4321\n' | JPKI_NOW=2012-01-10T01:00:00Z run_ok "$OFFICE" -d "$D" --json issue "$RES2" \
	--card-file "$T/new.card" --pin-stdin "${ID[@]}"
expect_output_has "\"sign_old\": \"$OLDSIGN\""
run_ok "$CA" -d "$D" show --kind sign --serial "$OLDSIGN" --json
expect_output_has '"reason":"superseded"'

# ---- the audit log: intact, then a changed entry found and named ----------------------
run_ok "$CA" -d "$D" audit verify --json
expect_output_has '"intact":true'
N=$(sed -n 's/.*"entries":\([0-9]*\).*/\1/p' "$OUT")
[ "$N" -gt 20 ] || fail_run "only $N audit entries"
sqlite3 "$D/ca.db" "UPDATE audit SET detail = 'nothing happened' WHERE seq = 7"
expect_exit 40 "$CA" -d "$D" audit verify
grep -q 'entry 7' "$ERR" || fail_run "names entry 7"
sqlite3 "$D/ca.db" "DELETE FROM audit WHERE seq = 7"
expect_exit 40 "$CA" -d "$D" audit verify
grep -q 'entry 7 is missing' "$ERR" || fail_run "names the missing entry 7"

summary
