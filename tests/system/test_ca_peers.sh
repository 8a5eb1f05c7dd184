#!/usr/bin/env bash
# The CA's output, checked by independent peers (foundation issue, acceptance
# item 8): OpenSSL (chain, CRL and delta-CRL checks), GnuTLS's certtool
# (parses every certificate and CRL) and Debian's python3-cryptography with
# check_jpki.py (the spec §4 profiles, L4 validity, the §5 CRLs).  Also the
# lifecycle rules jpki-ca enforces (L8 hold and release, partitions) and that
# bad input fails with one line and changes nothing.
#
# Needs: openssl, certtool (gnutls-bin), /usr/bin/python3 with cryptography.
set -euo pipefail
# shellcheck source=tests/system/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=/usr/bin/python3
skip_unless_cmd openssl "the OpenSSL command line tool, Debian package openssl"
skip_unless_cmd certtool "GnuTLS's certtool, Debian package gnutls-bin"
skip_unless_cmd "$PY" "Debian's python3"
"$PY" -c 'import cryptography.x509' 2>/dev/null ||
	skip "$PY cannot import cryptography (Debian package python3-cryptography)"
J=$(need_prog jpki-ca)
CHK="$JPKI_SRC/tests/system/check_jpki.py"
make_tmp

D="$T/ca"        # the main CA directory
K="$T/keys"      # subjects' keys, made by openssl
P="$T/published" # a copy of every CRL as it was published, in order
mkdir -p "$K" "$P"
: >"$P/sign.list"
: >"$P/auth.list"

jca() { "$J" -d "$D" "$@"; }

# chk SUBCOMMAND ARGS...: check_jpki.py must pass (its FAIL lines are shown).
chk() { run_ok "$PY" "$CHK" "$@"; }
# pyval SUBCOMMAND FILE: a value check_jpki.py prints (crl-number, crldp, serial).
pyval() {
	local v
	v=$("$PY" "$CHK" "$@") || fail "check_jpki.py $*: $v"
	printf '%s\n' "$v"
}

json_get() { # FILE KEY
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# newkey NAME [openssl genpkey args]: $K/NAME.key and $K/NAME.pub (PEM).
newkey() {
	local name=$1
	shift
	[ $# -gt 0 ] || set -- -algorithm RSA -pkeyopt rsa_keygen_bits:2048
	openssl genpkey "$@" -out "$K/$name.key" 2>/dev/null || fail "openssl genpkey $name"
	openssl pkey -in "$K/$name.key" -pubout -out "$K/$name.pub" 2>/dev/null ||
		fail "openssl pkey -pubout $name"
}

# issue NAME ARGS...: jpki-ca issue --out $T/NAME.pem --json ARGS; sets SERIAL,
# CN, PART and NOT_AFTER from the JSON, and checks them against openssl's view.
issue() {
	local name=$1
	shift
	run_ok jca issue --out "$T/$name.pem" --json "$@"
	cp "$OUT" "$T/$name.json"
	SERIAL=$(json_get "$T/$name.json" serial)
	CN=$(json_get "$T/$name.json" cn)
	PART=$(json_get "$T/$name.json" partition)
	NOT_AFTER=$(json_get "$T/$name.json" not_after)
	local oserial
	oserial=$(openssl x509 -in "$T/$name.pem" -noout -serial | sed 's/^serial=//')
	expect_eq "$oserial" "$SERIAL" "$name: serial in the JSON = openssl's"
	local ona
	ona=$(openssl x509 -in "$T/$name.pem" -noout -enddate -dateopt iso_8601 | sed 's/^notAfter=//')
	expect_eq "$(date -u -d "$ona" +%Y-%m-%dT%H:%M:%SZ)" "$NOT_AFTER" "$name: notAfter in the JSON = openssl's"
	# issue() serves the main CA (100000 certificates a partition): all in 0.
	expect_eq "$PART" 0 "$name: partition"
}

# A certificate every peer must accept: GnuTLS parses it and verifies the
# chain, OpenSSL verifies the chain.
# Each a soft check, so one peer's refusal does not hide the others' answers.
peers_accept_cert() { # CA CERT
	soft run_ok certtool -i --infile "$2"
	soft gnutls_verify "$1" "$2"
	soft ossl_ok "$1" "$2"
}

gnutls_verify() { # CA CERT
	run_ok certtool --verify --verify-profile=low --load-ca-certificate "$1" --infile "$2"
	expect_output_has "Chain verification output: Verified"
}

ossl_ok() { # CA CERT [openssl verify options...]
	local ca=$1 cert=$2
	shift 2
	run_ok openssl verify -CAfile "$ca" "$@" "$cert"
	expect_output_has ": OK$"
}

# ossl_err CODE TEXT CA CERT [options]: openssl verify fails with error CODE.
ossl_err() {
	local code=$1 text=$2 ca=$3 cert=$4
	shift 4
	expect_fail openssl verify -CAfile "$ca" "$@" "$cert"
	cat "$OUT" >>"$ERR"
	expect_output_has "error $code at 0 depth lookup: ?$text" "$ERR"
}

# publish_record KIND FILE: keep a copy of a just-published CRL, check that
# GnuTLS parses it, that OpenSSL verifies its signature, and that openssl and
# python agree on its CRLNumber (kept for the monotonicity check).
publish_record() {
	local kind=$1 f=$2 n on seq
	[ -f "$f" ] || fail "no CRL at $f"
	seq=$(($(wc -l <"$P/$kind.list") + 1))
	cp "$f" "$P/$kind-$seq-$(basename "$f")"
	run_ok certtool --crl-info --inder --infile "$f"
	run_ok openssl crl -inform DER -in "$f" -noout -verify -CAfile "$D/$kind/ca.pem"
	# OpenSSL prints "verify OK" on stderr.
	cat "$ERR" >>"$OUT"
	expect_output_has "^verify OK$"
	n=$(pyval crl-number "$f") || fail "crl-number $f"
	on=$(openssl crl -inform DER -in "$f" -noout -crlnumber | sed 's/^crlNumber=//')
	expect_eq "$((on))" "$n" "$f: CRLNumber, openssl = python"
	echo "$n $(basename "$f")" >>"$P/$kind.list"
}

# ---------------------------------------------------------------- init
note "init"
run_ok jca init --test
for k in sign auth; do
	if [ ! -f "$D/$k/ca.key" ] || [ ! -f "$D/$k/ca.pem" ]; then
		fail "init made no $k CA key and certificate"
	fi
	expect_eq "$(file_mode "$D/$k/ca.key")" 600 "$k/ca.key mode"
done
tree_sums "$D" >"$T/init.sums"
find "$D" | sort >"$T/init.files"
expect_fail jca init --test
expect_one_line_err "exists|already"
tree_sums "$D" >"$T/init2.sums"
find "$D" | sort >"$T/init2.files"
expect_same_file "$T/init.sums" "$T/init2.sums" "a second init leaves every file byte-identical"
expect_same_file "$T/init.files" "$T/init2.files" "a second init creates no file"
expect_fail jca init
expect_same_file "$T/init.sums" <(tree_sums "$D") "init without --test on a test CA changes nothing"

note "CA certificates"
for k in sign auth; do
	soft chk ca "$D/$k/ca.pem" --kind "$k" --test --fresh 600
	soft run_ok certtool -i --infile "$D/$k/ca.pem"
	soft ossl_ok "$D/$k/ca.pem" "$D/$k/ca.pem"
done
run_ok jca fingerprint --json
cp "$OUT" "$T/fp.json"
for k in sign auth; do
	want=$(openssl x509 -in "$D/$k/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
	got=$(json_get "$T/fp.json" "$k" | tr -d ':' | tr 'a-f' 'A-F')
	expect_eq "$got" "$want" "$k CA SHA-256 fingerprint (L12) = openssl's"
done

# ---------------------------------------------------------------- issuance
note "keys"
for n in s1 s2 s3 s4 a1 a2 a3; do newkey "$n"; done
newkey ec -algorithm EC -pkeyopt ec_paramgen_curve:P-256
newkey rsa1024 -algorithm RSA -pkeyopt rsa_keygen_bits:1024

TODAY_JST=$(date -u -d '+9 hours' +%F)
TOMORROW_JST=$(date -u -d '+33 hours' +%F)
CARD_EXPIRY=$(date -u -d "$TODAY_JST +2 years" +%F)

# S1: a Japanese name with U+3000, an alias, name flags (spec §4).
S1_NAME="山田　太郎"
S1_ADDR="東京都千代田区霞が関二丁目1番2号"
S1_ALIAS="ヤマダ　タロウ"
note "sign certificate with an alias"
issue s1 --kind sign --pubkey "$K/s1.pub" --dob 1977-11-07 --name "$S1_NAME" --sex 1 \
	--address "$S1_ADDR" --alias "$S1_ALIAS" --name-flags 01001
S1=$SERIAL
S1_CN=$CN
soft chk cert-sign "$T/s1.pem" --ca "$D/sign/ca.pem" --test --fresh 600 --pubkey "$K/s1.pub" \
	--cn "$S1_CN" --name "$S1_NAME" --dob 1977-11-07 --sex 1 --address "$S1_ADDR" \
	--alias "$S1_ALIAS" --name-flags 01001 --prefecture 東京都 --city 千代田区
peers_accept_cert "$D/sign/ca.pem" "$T/s1.pem"

# S4: no alias, address flags, 大正 date of birth, explicit L values.
S4_NAME="鈴木　花子"
S4_ADDR="北海道札幌市中央区北一条西二丁目"
note "sign certificate without an alias"
issue s4 --kind sign --pubkey "$K/s4.pub" --dob 1912-07-30 --name "$S4_NAME" --sex 2 \
	--address "$S4_ADDR" --address-flags 0000000001000000
S4=$SERIAL
soft chk cert-sign "$T/s4.pem" --ca "$D/sign/ca.pem" --test --fresh 600 --pubkey "$K/s4.pub" \
	--cn "$CN" --name "$S4_NAME" --dob 1912-07-30 --sex 2 --address "$S4_ADDR" \
	--address-flags 0000000001000000 --prefecture 北海道 --city 札幌市
peers_accept_cert "$D/sign/ca.pem" "$T/s4.pem"

# S2: 2004-era (3 years); 平成 starts on 1989-01-08.
note "2004-era certificate"
issue s2 --kind sign --pubkey "$K/s2.pub" --dob 1989-01-08 --name "佐藤　一" --sex 9 \
	--address "大阪府大阪市北区中之島1-3-20" --gen2004
S2=$SERIAL
soft chk cert-sign "$T/s2.pem" --ca "$D/sign/ca.pem" --test --fresh 600 --gen2004 \
	--name "佐藤　一" --dob 1989-01-08 --sex 9 --address "大阪府大阪市北区中之島1-3-20"
peers_accept_cert "$D/sign/ca.pem" "$T/s2.pem"

# S3: the card's expiry caps L4 (born on 29 February).
note "card expiry cap"
issue s3 --kind sign --pubkey "$K/s3.pub" --dob 2000-02-29 --name "高橋　次郎" --sex 1 \
	--address "神奈川県足柄下郡箱根町湯本256" --card-expiry "$CARD_EXPIRY"
soft chk cert-sign "$T/s3.pem" --ca "$D/sign/ca.pem" --test --fresh 600 \
	--card-expiry "$CARD_EXPIRY" --name "高橋　次郎" --dob 2000-02-29 --sex 1 \
	--address "神奈川県足柄下郡箱根町湯本256" --prefecture 神奈川県 --city 足柄下郡箱根町
expect_eq "$NOT_AFTER" "${CARD_EXPIRY}T14:59:59Z" "notAfter is the card's expiry, 23:59:59 JST"
peers_accept_cert "$D/sign/ca.pem" "$T/s3.pem"
# A card expiry after the 5th birthday changes nothing.
issue s3b --kind sign --pubkey "$K/s3.pub" --dob 2000-02-29 --name "高橋　次郎" --sex 1 \
	--address "神奈川県足柄下郡箱根町湯本256" --card-expiry "$(date -u -d "$TODAY_JST +9 years" +%F)"
soft chk cert-sign "$T/s3b.pem" --ca "$D/sign/ca.pem" --test --fresh 600 \
	--card-expiry "$(date -u -d "$TODAY_JST +9 years" +%F)" --name "高橋　次郎" \
	--dob 2000-02-29 --sex 1 --address "神奈川県足柄下郡箱根町湯本256"

note "auth certificates"
for n in a1 a2 a3; do
	issue "$n" --kind auth --pubkey "$K/$n.pub" --dob 1985-06-15
	printf -v "${n^^}" '%s' "$SERIAL"
	soft chk cert-auth "$T/$n.pem" --ca "$D/auth/ca.pem" --test --fresh 600 \
		--pubkey "$K/$n.pub" --cn "$CN" --dob 1985-06-15
	peers_accept_cert "$D/auth/ca.pem" "$T/$n.pem"
done
if [ "$A1" = "$A2" ] || [ "$A2" = "$A3" ] || [ "$A1" = "$A3" ]; then
	fail "two auth certificates share a serial"
fi
SIGN_URL=$(pyval crldp "$T/s4.pem")
AUTH_URL=$(pyval crldp "$T/a1.pem")
expect_eq "$(pyval crldp "$T/s1.pem")" "$SIGN_URL" "sign certificates share partition 0's CRL URL"

# ---------------------------------------------------------------- revocation
note "revoke and hold"
run_ok jca revoke --kind sign --serial "$S1" --reason keyCompromise
run_ok jca hold --kind auth --serial "$A2"
run_ok jca show --kind sign --serial "$S1" --json
expect_output_has '"status":"revoked"'
expect_output_has '"reason":"keyCompromise"'
run_ok jca show --kind auth --serial "$A2" --json
expect_output_has '"status":"hold"'

# L8: a signature certificate's hold cannot be lifted (exit 10+13).
run_ok jca hold --kind sign --serial "$S2"
expect_exit 23 jca release --kind sign --serial "$S2"
expect_one_line_err "revoke.*(issue|re-?issue)"
run_ok jca show --kind sign --serial "$S2" --json
expect_output_has '"status":"hold"'

note "publish all"
run_ok jca crl
for k in sign auth; do
	for f in 0.crl 0-delta.crl; do
		publish_record "$k" "$D/crl/$k/$f"
	done
done
SIGN_FULL1=$(pyval crl-number "$D/crl/sign/0.crl")
AUTH_FULL1=$(pyval crl-number "$D/crl/auth/0.crl")
cp "$D/crl/auth/0.crl" "$T/auth-full1.crl"

soft chk crl "$D/crl/sign/0.crl" --ca "$D/sign/ca.pem" --idp "$SIGN_URL" --fresh 600 \
	--expect-serial "$S1:keyCompromise" --expect-serial "$S2:certificateHold" --expect-count 2
soft chk crl "$D/crl/sign/0-delta.crl" --ca "$D/sign/ca.pem" --idp "$SIGN_URL" --fresh 600 \
	--delta-base "$SIGN_FULL1" --expect-count 0
soft chk crl "$D/crl/auth/0.crl" --ca "$D/auth/ca.pem" --idp "$AUTH_URL" --fresh 600 \
	--expect-serial "$A2:certificateHold" --expect-count 1
soft chk crl "$D/crl/auth/0-delta.crl" --ca "$D/auth/ca.pem" --idp "$AUTH_URL" \
	--delta-base "$AUTH_FULL1" --expect-count 0

note "openssl -crl_check"
soft ossl_err 23 "certificate revoked" "$D/sign/ca.pem" "$T/s1.pem" -crl_check -CRLfile "$D/crl/sign/0.crl"
soft ossl_ok "$D/sign/ca.pem" "$T/s4.pem" -crl_check -CRLfile "$D/crl/sign/0.crl"
soft ossl_err 23 "certificate revoked" "$D/sign/ca.pem" "$T/s2.pem" -crl_check -CRLfile "$D/crl/sign/0.crl"
soft ossl_err 23 "certificate revoked" "$D/auth/ca.pem" "$T/a2.pem" -crl_check -CRLfile "$D/crl/auth/0.crl"
soft ossl_ok "$D/auth/ca.pem" "$T/a1.pem" -crl_check -CRLfile "$D/crl/auth/0.crl"
# The sign CA's CRL says nothing about auth certificates: no CRL in scope.
soft ossl_err 3 "unable to get certificate CRL" "$D/auth/ca.pem" "$T/a1.pem" -crl_check \
	-CRLfile "$D/crl/sign/0.crl"

note "release a hold (L8), delta with removeFromCRL"
run_ok jca release --kind auth --serial "$A2"
run_ok jca show --kind auth --serial "$A2" --json
expect_output_has '"status":"good"'
run_ok jca crl --kind auth --delta
expect_output_has "crl/auth/0-delta.crl$"
publish_record auth "$D/crl/auth/0-delta.crl"
soft chk crl "$D/crl/auth/0-delta.crl" --ca "$D/auth/ca.pem" --idp "$AUTH_URL" --fresh 600 \
	--delta-base "$AUTH_FULL1" --expect-serial "$A2:removeFromCRL" --expect-count 1
# OpenSSL applies the delta: removeFromCRL there overrides the hold in the base.
soft ossl_ok "$D/auth/ca.pem" "$T/a2.pem" -crl_check -use_deltas \
	-CRLfile "$T/auth-full1.crl" -CRLfile "$D/crl/auth/0-delta.crl"
soft ossl_err 23 "certificate revoked" "$D/auth/ca.pem" "$T/a2.pem" -crl_check \
	-CRLfile "$T/auth-full1.crl"

run_ok jca crl --kind auth
expect_output_has "crl/auth/0.crl$"
publish_record auth "$D/crl/auth/0.crl"
AUTH_FULL2=$(pyval crl-number "$D/crl/auth/0.crl")
soft chk crl "$D/crl/auth/0.crl" --ca "$D/auth/ca.pem" --idp "$AUTH_URL" --fresh 600 \
	--expect-absent "$A2" --expect-count 0
soft ossl_ok "$D/auth/ca.pem" "$T/a2.pem" -crl_check -CRLfile "$D/crl/auth/0.crl"

note "a hold after the full CRL, told by the delta"
run_ok jca hold --kind auth --serial "$A1"
run_ok jca crl --kind auth --delta
publish_record auth "$D/crl/auth/0-delta.crl"
soft chk crl "$D/crl/auth/0-delta.crl" --ca "$D/auth/ca.pem" --idp "$AUTH_URL" \
	--delta-base "$AUTH_FULL2" --expect-serial "$A1:certificateHold" --expect-count 1
soft ossl_err 23 "certificate revoked" "$D/auth/ca.pem" "$T/a1.pem" -crl_check -use_deltas \
	-CRLfile "$D/crl/auth/0.crl" -CRLfile "$D/crl/auth/0-delta.crl"
soft ossl_ok "$D/auth/ca.pem" "$T/a1.pem" -crl_check -CRLfile "$D/crl/auth/0.crl"
soft ossl_ok "$D/auth/ca.pem" "$T/a3.pem" -crl_check -use_deltas \
	-CRLfile "$D/crl/auth/0.crl" -CRLfile "$D/crl/auth/0-delta.crl"

# L8: the held signature certificate is revoked instead (and a new one issued).
run_ok jca revoke --kind sign --serial "$S2" --reason keyCompromise
run_ok jca show --kind sign --serial "$S2" --json
expect_output_has '"status":"revoked"'

note "publish all again"
run_ok jca crl
for k in sign auth; do
	for f in 0.crl 0-delta.crl; do
		publish_record "$k" "$D/crl/$k/$f"
	done
done
soft chk crl "$D/crl/auth/0.crl" --ca "$D/auth/ca.pem" --idp "$AUTH_URL" \
	--expect-serial "$A1:certificateHold" --expect-absent "$A2" --expect-count 1
soft chk crl "$D/crl/sign/0.crl" --ca "$D/sign/ca.pem" --idp "$SIGN_URL" \
	--expect-serial "$S1:keyCompromise" --expect-serial "$S2:keyCompromise" --expect-count 2

note "CRLNumber strictly increases per CA, full and delta together"
for k in sign auth; do
	prev=0
	while read -r n f; do
		[ "$n" -gt "$prev" ] || fail "$k CA: CRLNumber $n of $f is not above $prev ($(tr '\n' ' ' <"$P/$k.list"))"
		prev=$n
	done <"$P/$k.list"
	pass "$k CA: CRLNumbers $(awk '{print $1}' "$P/$k.list" | tr '\n' ' ')"
done

# ---------------------------------------------------------------- bad input
note "bad input: one line, non-zero, nothing changed"

state() { # the CA's state as a caller sees it, and every file except the database
	jca list --kind sign --json
	jca list --kind auth --json
	tree_sums "$D" ! -name 'ca.db*'
}

# bad PATTERN CMD...: fails, one stderr line matching PATTERN, state unchanged.
bad() {
	local pat=$1
	shift
	state >"$T/before.state"
	expect_fail "$@"
	expect_one_line_err "$pat"
	state >"$T/after.state"
	expect_same_file "$T/before.state" "$T/after.state" "nothing changed by: $*"
}

[ "$(jca list --kind sign --json | wc -l)" -eq 5 ] || fail "the sign CA should list 5 certificates"
[ "$(jca list --kind auth --json | wc -l)" -eq 3 ] || fail "the auth CA should list 3 certificates"

LONG_NAME=$(printf '山%.0s' $(seq 101))
LONG_ADDR="東京都千代田区$(printf 'あ%.0s' $(seq 194))"
MISSING="$T/no-such-ca"
soft bad "lost" jca revoke --kind sign --serial "$S4" --reason lost
soft bad "certificateHold|hold" jca revoke --kind sign --serial "$S4" --reason certificateHold
soft bad "future|$TOMORROW_JST" jca issue --kind sign --pubkey "$K/s4.pub" --dob "$TOMORROW_JST" \
	--name "$S4_NAME" --sex 2 --address "$S4_ADDR"
soft bad "future|$TOMORROW_JST|birth" jca issue --kind auth --pubkey "$K/a1.pub" --dob "$TOMORROW_JST"
soft bad "name.*101" jca issue --kind sign --pubkey "$K/s4.pub" --dob 1980-01-01 \
	--name "$LONG_NAME" --sex 2 --address "$S4_ADDR"
soft bad "address.*201" jca issue --kind sign --pubkey "$K/s4.pub" --dob 1980-01-01 \
	--name "$S4_NAME" --sex 2 --address "$LONG_ADDR"
soft bad "RSA-2048" jca issue --kind auth --pubkey "$K/ec.pub" --dob 1980-01-01
soft bad "RSA-2048" jca issue --kind auth --pubkey "$K/rsa1024.pub" --dob 1980-01-01
soft bad "RSA-2048" jca issue --kind sign --pubkey "$K/ec.pub" --dob 1980-01-01 \
	--name "$S4_NAME" --sex 2 --address "$S4_ADDR"
soft bad "0123456789ABCDEF0123456789ABCDEF|0123456789abcdef0123456789abcdef" \
	jca revoke --kind sign --serial 0123456789ABCDEF0123456789ABCDEF --reason superseded
soft bad "$S1.*already revoked|already revoked.*$S1" \
	jca revoke --kind sign --serial "$S1" --reason superseded
soft bad "$S1" jca hold --kind sign --serial "$S1"
soft bad "$A3.*not on hold|not on hold.*$A3" jca release --kind auth --serial "$A3"
soft bad "card|expir" jca issue --kind auth --pubkey "$K/a1.pub" --dob 1980-01-01 \
	--card-expiry "$(date -u -d "$TODAY_JST -1 day" +%F)"
soft bad "personal data|--name" jca issue --kind auth --pubkey "$K/a1.pub" --dob 1980-01-01 \
	--name "$S4_NAME"
for cmd in "issue --kind auth --pubkey $K/a1.pub --dob 1980-01-01" "revoke --kind sign --serial $S4 --reason superseded" "crl" "list --kind sign"; do
	# shellcheck disable=SC2086  # word splitting of $cmd is intended
	soft bad "$MISSING" "$J" -d "$MISSING" $cmd
	[ ! -e "$MISSING" ] || fail "'jpki-ca -d $MISSING $cmd' created $MISSING"
done

# ---------------------------------------------------------------- partitions
note "partitions"
D2="$T/ca2"
run_ok "$J" -d "$D2" init --test --partition-size 2
declare -a PSER PURL
for i in 0 1 2 3 4; do
	run_ok "$J" -d "$D2" issue --kind auth --pubkey "$K/a3.pub" --dob 1990-04-01 \
		--out "$T/p$i.pem" --json
	cp "$OUT" "$T/p$i.json"
	PSER[i]=$(json_get "$T/p$i.json" serial)
	expect_eq "$(json_get "$T/p$i.json" partition)" "$((i / 2))" "p$i: partition"
	soft chk cert-auth "$T/p$i.pem" --ca "$D2/auth/ca.pem" --test --fresh 600 \
		--pubkey "$K/a3.pub" --dob 1990-04-01
	peers_accept_cert "$D2/auth/ca.pem" "$T/p$i.pem"
	PURL[i]=$(pyval crldp "$T/p$i.pem")
	case ${PURL[i]} in
	*/crl/auth/$((i / 2)).crl) pass "p$i: CRLDP names partition $((i / 2))" ;;
	*) fail "p$i: CRLDP ${PURL[i]} does not name partition $((i / 2))" ;;
	esac
done
run_ok "$J" -d "$D2" revoke --kind auth --serial "${PSER[2]}" --reason affiliationChanged
run_ok "$J" -d "$D2" crl
for part in 0 1 2; do
	for f in "$part.crl" "$part-delta.crl"; do
		[ -f "$D2/crl/auth/$f" ] || fail "no partition CRL $D2/crl/auth/$f"
		soft run_ok certtool --crl-info --inder --infile "$D2/crl/auth/$f"
		run_ok openssl crl -inform DER -in "$D2/crl/auth/$f" -noout -verify -CAfile "$D2/auth/ca.pem"
	done
done
[ ! -e "$D2/crl/auth/3.crl" ] || fail "a CRL for partition 3, which has no certificate"
soft chk crl "$D2/crl/auth/0.crl" --ca "$D2/auth/ca.pem" --idp "${PURL[0]}" --expect-count 0
soft chk crl "$D2/crl/auth/1.crl" --ca "$D2/auth/ca.pem" --idp "${PURL[2]}" \
	--expect-serial "${PSER[2]}:affiliationChanged" --expect-count 1
soft chk crl "$D2/crl/auth/2.crl" --ca "$D2/auth/ca.pem" --idp "${PURL[4]}" --expect-count 0
expect_eq "${PURL[1]}" "${PURL[0]}" "p0 and p1 share partition 0's URL"
expect_eq "${PURL[3]}" "${PURL[2]}" "p2 and p3 share partition 1's URL"
soft ossl_err 23 "certificate revoked" "$D2/auth/ca.pem" "$T/p2.pem" -crl_check \
	-CRLfile "$D2/crl/auth/1.crl"
soft ossl_ok "$D2/auth/ca.pem" "$T/p3.pem" -crl_check -CRLfile "$D2/crl/auth/1.crl"
soft ossl_ok "$D2/auth/ca.pem" "$T/p4.pem" -crl_check -CRLfile "$D2/crl/auth/2.crl"
# Another partition's CRL is not in scope for a certificate (IDP vs CRLDP).
soft ossl_err 44 "different CRL scope" "$D2/auth/ca.pem" "$T/p2.pem" -crl_check \
	-CRLfile "$D2/crl/auth/0.crl"
# The empty sign CA still publishes partition 0.
[ -f "$D2/crl/sign/0.crl" ] || fail "the empty sign CA published no CRL"
soft run_ok openssl crl -inform DER -in "$D2/crl/sign/0.crl" -noout -verify -CAfile "$D2/sign/ca.pem"

summary
