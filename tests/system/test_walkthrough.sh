#!/usr/bin/env bash
# The walkthrough of today's residents' guide (scripts/walkthrough.sh, what
# scripts/demo.sh shows) as a system test: the same steps, in order, with the
# virtual card in a private pcscd through vpcd, and after each step checks of
# its own on what the step left behind, made with other tools than the step
# used where there are any (openssl, OpenSC, jpki-ca, the store): so a step
# that stops doing what the guide says fails here, by name, even when the
# walkthrough's own checks would still pass.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card_lib.sh"

card_require_peers
skip_unless_cmd curl
skip_unless_cmd python3 "Debian's python3"
card_enter_namespace "$@"
CA=$(need_prog jpki-ca)
OFFICE=$(need_prog jpki-office)
J=$(need_prog jpki)
for p in jpki-card jpkid jpki-service; do need_prog "$p" >/dev/null; done
make_tmp
card_setup
pcscd_start

. "$JPKI_SRC/scripts/walkthrough.sh"
WALK_BIN=$JPKI_BIN WALK_DIR=$T/walk WALK_VPCD_PORT=$CARD_PORT
# set +e: under set -e, (exit "$rc") would end the trap before the cleanup.
trap 'rc=$?; set +e; walk_stop; (exit "$rc"); _card_cleanup' EXIT
walk_init || fail "walk_init"
W=$WALK_DIR
L=$WALK_LOG
R0=$CARD_READER0

# ---- helpers on what a step left ---------------------------------------------------------
STEP=
# rc_is LABEL N: the command the step ran as LABEL exited N.
rc_is() {
	expect_eq "$(cat "$L/$1.rc")" "$2" "$STEP: $1 exit status"
}
# has LABEL REGEX / lacks LABEL REGEX: in its standard output or error.
has() {
	grep -Eq -- "$2" "$L/$1.out" "$L/$1.err" || fail "$STEP: $1: no line matching '$2': $(cat "$L/$1.out" "$L/$1.err")"
	pass "$STEP: $1 has '$2'"
}
lacks() {
	! grep -Eq -- "$2" "$L/$1.out" "$L/$1.err" || fail "$STEP: $1: a line matches '$2'"
	pass "$STEP: $1 lacks '$2'"
}
# serial LABEL KIND-WORD VERB: from a window notice, e.g. serial card.issue Signature issued
serial() {
	sed -n "s/^  $2 certificate  *$3, serial number \\([0-9A-F]*\\)\$/\\1/p" "$L/$1.out" | head -n 1
}
# cert_json KIND SERIAL: jpki-ca show --json in $OUT
cert_json() {
	run_ok "$CA" -d "$W/ca" show --kind "$1" --serial "$2" --json
}
# card_cert ID PEM [PIN]: the certificate the card holds, read by OpenSC
# (01 authentication; 02 signature, after the signing password).
card_cert() {
	if [ $# -ge 3 ]; then
		run_ok pkcs15-tool --reader "$R0" --read-certificate "$1" --verify-pin --auth-id 02 \
			--pin "$3" -o "$2"
	else
		run_ok pkcs15-tool --reader "$R0" --read-certificate "$1" -o "$2"
	fi
}
cert_serial() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2
}
# ocsp_status KIND PEM: what openssl ocsp reads from jpkid at the
# certificate's own AIA URL, verified against the CA ("good", "revoked").
ocsp_status() {
	openssl ocsp -url "$(openssl x509 -in "$2" -noout -ocsp_uri)" -issuer "$W/ca/$1/ca.pem" \
		-CAfile "$W/ca/$1/ca.pem" -cert "$2" -resp_text >"$T/ocsp.txt" 2>&1 ||
		fail "$STEP: openssl ocsp failed: $(cat "$T/ocsp.txt")"
	sed -n 's/^ *Cert Status: \([a-z]*\).*/\1/p' "$T/ocsp.txt" | head -n 1
}
# crl_verify KIND PEM: openssl verify -crl_check against freshly published CRLs
# (full and delta of partition 0); status in $STATUS, output in $OUT/$ERR.
crl_verify() {
	"$CA" -d "$W/ca" crl >/dev/null || fail "$STEP: jpki-ca crl"
	openssl crl -inform DER -in "$W/ca/crl/$1/0.crl" -out "$T/$1.crl.pem"
	_run openssl verify -crl_check -CAfile "$W/ca/$1/ca.pem" -CRLfile "$T/$1.crl.pem" "$2"
}
# vrfy ID: VERIFY with no data on the PIN EF (tries left, none spent): SW2.
APDU_SEL=00:A4:04:0C:0A:D3:92:F0:00:26:01:00:00:00:01
pin_sw() {
	run_ok opensc-tool --reader "$R0" -s "$APDU_SEL" -s "00:A4:02:0C:02:00:$1" -s 00:20:00:80
	sed -n 's/.*SW1=0x\(..\), SW2=0x\(..\).*/\1\2/p' "$OUT" | tail -n 1
}

# ---- the checks of each step -------------------------------------------------------------
check_walk_agency() {
	local f
	for f in sign auth; do
		[ -s "$W/ca/$f/ca.pem" ] || fail "$STEP: no $f CA certificate"
		expect_eq "$(openssl x509 -in "$W/ca/$f/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)" \
			"$(sed -n "s/^$f\t//p" "$L/agency.fingerprint.out")" "$STEP: $f fingerprint as openssl computes it"
	done
	run_ok openssl x509 -in "$W/ca/auth/ca.pem" -noout -subject -nameopt RFC2253
	expect_output_has 'O=JPKI-TEST'
	run_ok curl -sf "$WALK_URL/health"
	expect_output_has '"status":"ok"'
	run_ok curl -sf "$WALK_URL/crl/sign/0.crl" -o "$T/sign0.crl"
	run_ok openssl crl -inform DER -in "$T/sign0.crl" -CAfile "$W/ca/sign/ca.pem" -noout
	run_ok curl -sf "$WALK_SVC_URL/"
	expect_output_has 'multipart/form-data'
}

check_walk_card() {
	local s a
	[[ $WALK_RES =~ ^[0-9]{8}$ ]] || fail "$STEP: resident number '$WALK_RES'"
	pass "$STEP: resident $WALK_RES"
	has card.readers "^$R0	JPKI card \\(JPKIAPICCTOKEN2\\)\$"
	s=$(serial card.issue Signature issued)
	a=$(serial card.issue Authentication issued)
	{ [ -n "$s" ] && [ -n "$a" ]; } || fail "$STEP: no serials in the issuance notice"
	SIGN1=$s AUTH1=$a
	card_cert 01 "$T/auth1.pem"
	expect_eq "$(cert_serial "$T/auth1.pem")" "$a" "$STEP: the auth certificate OpenSC reads is the issued one"
	card_cert 02 "$T/sign1.pem" ABC123
	expect_eq "$(cert_serial "$T/sign1.pem")" "$s" "$STEP: the signature certificate OpenSC reads is the issued one"
	run_ok openssl verify -CAfile "$W/ca/sign/ca.pem" "$T/sign1.pem"
	run_ok openssl verify -CAfile "$W/ca/auth/ca.pem" "$T/auth1.pem"
	expect_eq "$(openssl x509 -in "$T/auth1.pem" -noout -ocsp_uri)" "$WALK_URL/ocsp/auth" \
		"$STEP: the certificates name jpkid for OCSP"
	run_ok "$OFFICE" -d "$W/ca" --json show "$WALK_RES"
	expect_output_has "\"card\": \"$WALK_CARDNO\""
	[ -s "$W/ca/notices/$(sed -n 's/^  Reference number  *//p' "$L/card.issue.out").html" ] ||
		fail "$STEP: no printable notice of the issuance"
	pass "$STEP: printable notice"
	has card.card '^authentication PIN +tries left 3$'
	has card.card '^signing password +tries left 5$'
}

check_walk_view() {
	has view.auth '^authentication certificate$'
	has view.auth "^Serial	$AUTH1\$"
	lacks view.auth '^Name	'
	has view.sign "^Serial	$SIGN1\$"
	has view.sign '^Name	個人　花子$'
	has view.sign '^Date of birth	昭和52年11月7日 \(1977-11-07\)$'
	has view.sign '^Sex	female$'
	has view.sign '^Address	東京都千代田区霞が関２丁目１番２号$'
	has view.sign '^Issued	20[0-9]{2}-[0-9-]{5}T[0-9:]{8}Z \((令和|平成)[0-9元]+年[0-9]+月[0-9]+日\)$'
	# Expiry: the 5th birthday after issuance (L4), as openssl reads it.
	local na
	na=$(openssl x509 -in "$T/sign1.pem" -noout -enddate -dateopt iso_8601 | sed 's/^notAfter=//; s/ /T/')
	has view.sign "^Expires	$na \\(令和[0-9]+年11月7日\\)\$"
	[[ $na == 20??-11-07T14:59:59Z ]] || fail "$STEP: notAfter $na is not a birthday, 14:59:59Z"
	pass "$STEP: notAfter $na"
}

check_walk_fingerprint() {
	local fp
	fp=$(openssl x509 -in "$W/ca/auth/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
	has fingerprint.ca "^SHA-256 fingerprint	$fp\$"
	run_ok "$CA" -d "$W/ca" fingerprint --json
	expect_eq "$(tr -d ' \n' <"$L/fingerprint.published.out")" "$(tr -d ' \n' <"$OUT")" \
		"$STEP: jpkid publishes what jpki-ca computes"
	has fingerprint.check "^User-Authentication CA	$fp	matches"
	# A list with another CA's fingerprint is a loud mismatch.
	run_ok "$CA" -d "$T/other-ca" init --test
	run_ok "$CA" -d "$T/other-ca" fingerprint --json
	cp "$OUT" "$T/other.json"
	expect_exit 43 "$J" ca fingerprint --published "$T/other.json"
	expect_output_has 'DOES NOT MATCH'
}

check_walk_pin_change() {
	rc_is pin_change.guessable 30
	has pin_change.guessable 'date of birth'
	has pin_change.sign '^The signing password was changed\.$'
	has pin_change.auth '^The authentication PIN was changed\.$'
	# The new values open the card for OpenSC (a right try spends nothing).
	run_ok pkcs15-tool --reader "$R0" --verify-pin --auth-id 01 --pin 5927
	run_ok pkcs15-tool --reader "$R0" --verify-pin --auth-id 02 --pin SAKURA38
	expect_eq "$(pin_sw 18)" 63C3 "$STEP: auth PIN tries full"
	expect_eq "$(pin_sw 1B)" 63C5 "$STEP: signing password tries full"
}

check_walk_pin_init() {
	rc_is pin_init.wrong1 28
	rc_is pin_init.wrong2 28
	rc_is pin_init.wrong3 29
	has pin_init.wrong2 '1 try left'
	has pin_init.wrong3 'locked'
	rc_is pin_init.locked 29
	has pin_init.window 'unlocked'
	has pin_init.after '^authentication PIN	3 of 3 tries left$'
	expect_eq "$(pin_sw 18)" 63C3 "$STEP: the card's auth PIN tries reset"
	# Unlocked, not changed: the PIN chosen at home opens the card again.
	run_ok pkcs15-tool --reader "$R0" --verify-pin --auth-id 01 --pin 5927
	# The signing password was not touched.
	run_ok pkcs15-tool --reader "$R0" --verify-pin --auth-id 02 --pin SAKURA38
	run_ok "$CA" -d "$W/ca" audit show
	expect_output_has 'pin-init|pin_init'
}

check_walk_apply() {
	has apply.sign '^signed: 申請書.txt.p7s$'
	run_ok openssl cms -verify -binary -content "$W/申請書.txt" -inform DER -in "$W/申請書.txt.p7s" \
		-CAfile "$W/ca/sign/ca.pem" -out /dev/null
	run_ok openssl cms -cmsout -print -inform DER -in "$W/申請書.txt.p7s"
	expect_output_has 'signingTime'
	has apply.send '"dob_code":"319771107"'
	has apply.send '"sex":2'
	has apply.send "\"serial\":\"$SIGN1\""
	has apply.send '"status":\{"state":"good","source":"ocsp"\}'
	# The service refuses the same signature over a changed document.
	printf '追記\n' | cat "$W/申請書.txt" - >"$T/changed.txt"
	run_ok curl -s -F "document=@$T/changed.txt" -F "signature=@$W/申請書.txt.p7s" "$WALK_SVC_URL/apply"
	expect_output_has '"result":"refused","error":"signature_invalid"'
}

check_walk_login() {
	has login.ok "^logged in to $WALK_SVC_URL\$"
	_run "$J" login "$WALK_SVC_URL" --pin-stdin --json <<<5927
	[ "$STATUS" -eq 0 ] || fail_run "$STEP: jpki login --json"
	expect_output_has '"result":"ok"'
	expect_output_has '"status":\{"state":"good","source":"ocsp"\}'
	# A made-up answer to a challenge is refused.
	run_ok curl -s -o "$T/ans" -w '%{http_code}' -H 'Content-Type: application/json' \
		-d '{"id":"00000000000000000000000000000000","certificate":"AA==","signature":"AA=="}' \
		"$WALK_SVC_URL/login"
	expect_eq "$(cat "$OUT")" 403 "$STEP: unknown challenge refused"
}

check_walk_validity() {
	has validity.auth "checked by OCSP $WALK_URL/ocsp/auth "
	has validity.auth 'expires 20[0-9-]+T14:59:59Z \(令和[0-9]+年11月7日\) \([0-9]+ days left\)'
	expect_eq "$(ocsp_status auth "$T/auth1.pem")" good "$STEP: openssl ocsp: auth good"
	expect_eq "$(ocsp_status sign "$T/sign1.pem")" good "$STEP: openssl ocsp: sign good"
	grep -q ' /ocsp/auth ' "$L/jpkid-access.log" || fail "$STEP: jpkid's access log has no OCSP request"
	pass "$STEP: jpkid answered the OCSP requests"
}

check_walk_suspend() {
	has suspend.line "\"resident\" *: *\"$WALK_RES\""
	has suspend.line "\"card\" *: *\"$WALK_CARDNO\""
	has suspend.line "\"sign\" *: *\"$SIGN1\""
	has suspend.line "\"auth\" *: *\"$AUTH1\""
	cert_json auth "$AUTH1"
	expect_output_has '"status":"hold"'
	cert_json sign "$SIGN1"
	expect_output_has '"status":"hold"'
	expect_eq "$(ocsp_status auth "$T/auth1.pem")" revoked "$STEP: openssl ocsp: auth on hold"
	grep -q 'Certificate Hold\|certificateHold' "$T/ocsp.txt" || fail "$STEP: OCSP reason is not certificateHold"
	pass "$STEP: OCSP reason certificateHold"
	has suspend.status 'the hold can be lifted at your municipal office window'
	has suspend.login 'on hold'
	# The line's call is in the audit log, by the line's operator.
	run_ok "$CA" -d "$W/ca" audit show
	expect_output_has "$WALK_LINE_OPERATOR.*suspend|suspend.*$WALK_LINE_OPERATOR"
}

check_walk_release() {
	cert_json auth "$AUTH1"
	expect_output_has '"status":"good"'
	cert_json sign "$SIGN1"
	expect_output_has '"reason":"superseded"'
	SIGN2=$(serial release.reissue Signature issued)
	{ [ -n "$SIGN2" ] && [ "$SIGN2" != "$SIGN1" ]; } || fail "$STEP: no new signature certificate"
	card_cert 02 "$T/sign2.pem" KASUMI21
	expect_eq "$(cert_serial "$T/sign2.pem")" "$SIGN2" "$STEP: the new signature certificate is on the card"
	expect_eq "$(ocsp_status auth "$T/auth1.pem")" good "$STEP: openssl ocsp: auth good again"
	crl_verify auth "$T/auth1.pem"
	[ "$STATUS" -eq 0 ] || fail_run "$STEP: the released auth certificate fails the CRL check"
	pass "$STEP: auth certificate off the CRL"
	crl_verify sign "$T/sign1.pem"
	{ [ "$STATUS" -ne 0 ] && grep -q 'certificate revoked' "$OUT" "$ERR"; } ||
		fail_run "$STEP: the old signature certificate is not on the CRL"
	pass "$STEP: old signature certificate on the CRL"
}

check_walk_move() {
	cert_json sign "$SIGN2"
	expect_output_has '"reason":"affiliationChanged"'
	cert_json auth "$AUTH1"
	expect_output_has '"status":"good"'
	crl_verify sign "$T/sign2.pem"
	{ [ "$STATUS" -ne 0 ] && grep -q 'certificate revoked' "$OUT" "$ERR"; } ||
		fail_run "$STEP: the signature certificate is not on the CRL after the move"
	pass "$STEP: signature certificate revoked per openssl verify -crl_check"
	crl_verify auth "$T/auth1.pem"
	[ "$STATUS" -eq 0 ] || fail_run "$STEP: the auth certificate fails the CRL check after the move"
	pass "$STEP: auth certificate good per openssl verify -crl_check"
	run_ok "$OFFICE" -d "$W/ca" show "$WALK_RES"
	expect_output_has 'address 大阪府大阪市北区中之島１丁目３番２０号'
	SIGN3=$(serial move.reissue Signature issued)
	card_cert 02 "$T/sign3.pem" NAKANO35
	expect_eq "$(cert_serial "$T/sign3.pem")" "$SIGN3" "$STEP: the new signature certificate is on the card"
	run_ok openssl x509 -in "$T/sign3.pem" -noout -subject -nameopt utf8,sep_comma_plus
	expect_output_has 'L=大阪府'
}

check_walk_renew() {
	local na first
	rc_is renew.early 22
	na=$(openssl x509 -in "$T/auth1.pem" -noout -enddate -dateopt iso_8601 | sed 's/^notAfter=//; s/ .*//')
	first=$(date -u -d "$na - 3 months" +%Y-%m-%d)
	has renew.early "$first"
	has renew.warning '\(60 days left\)'
	AUTH2=$(serial renew.auth Authentication issued)
	SIGN4=$(serial renew.sign Signature issued)
	{ [ -n "$AUTH2" ] && [ -n "$SIGN4" ]; } || fail "$STEP: no renewed serials"
	cert_json auth "$AUTH1"
	expect_output_has '"reason":"superseded"'
	cert_json sign "$SIGN3"
	expect_output_has '"reason":"superseded"'
	cert_json auth "$AUTH2"
	expect_output_has '"status":"good"'
	# Issued on the moved clock (the day the walkthrough moved it to).
	expect_output_has "\"not_before\":\"${WALK_MOVED%%T*}T"
	card_cert 01 "$T/auth2.pem"
	expect_eq "$(cert_serial "$T/auth2.pem")" "$AUTH2" "$STEP: the renewed auth certificate is on the card"
	run_ok pkcs15-tool --reader "$R0" --verify-pin --auth-id 01 --pin 3719
	has renew.status "expires 20[0-9-]+T14:59:59Z"
}

check_walk_revoke() {
	local ref
	ref=$(grep -Eo '[0-9]{8}-[0-9]{6}' "$L/revoke.online.out" | head -n 1)
	[ -n "$ref" ] || fail "$STEP: no reference number"
	has revoke.online 'accepted'
	has revoke.online "$SIGN4"
	has revoke.online "$AUTH2"
	pass "$STEP: reference $ref"
	cert_json auth "$AUTH2"
	expect_output_has '"reason":"cessationOfOperation"'
	cert_json sign "$SIGN4"
	expect_output_has '"reason":"cessationOfOperation"'
	run_ok "$CA" -d "$W/ca" audit show
	expect_output_has "$ref"
	run_ok "$CA" -d "$W/ca" audit verify
	expect_output_has '^audit log intact'
}

# ---- the walk ----------------------------------------------------------------------------
SIGN1='' AUTH1='' SIGN2='' SIGN3='' SIGN4='' AUTH2='' WALK_MOVED=
for fn in "${WALK_STEPS[@]}"; do
	STEP=$fn
	_run walk_step "$fn"
	cp "$OUT" "$L/$fn.shown"
	[ "$STATUS" -eq 0 ] || fail_run "step $fn (${WALK_TITLE[$fn]}): ${WALK_WHY:-failed}"
	pass "$fn: the walkthrough's own checks"
	[ "$fn" != walk_renew ] || WALK_MOVED=$(grep -o 'clock moved to [0-9TZ:-]*' "$L/$fn.shown" | cut -d' ' -f4)
	# The steps' checks run on the moved clock too, as the programs do.
	if [ "$WALK_OFFSET" -ne 0 ]; then
		JPKI_NOW=$(_w_now) "check_$fn"
	else
		"check_$fn"
	fi
	note "$fn: ok"
done
summary
