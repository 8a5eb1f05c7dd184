#!/usr/bin/env bash
# jpkid against real peers (issue 5): OCSP checked by `openssl ocsp` (POST,
# with and without a nonce, SHA-1 and SHA-256 CertIDs), by curl (the RFC 5019
# GET form and its cache headers) and by Python's cryptography (signature,
# CertID, nonce, the non-issued extension); statuses changed by jpki-ca while
# jpkid runs show within a second; CRLs by the URLs the certificates name,
# with ETag and 304; the CA certificates and fingerprints; malformed, foreign
# and oversized requests; a clean exit on SIGTERM.
#
# Needs: openssl, curl, /usr/bin/python3 with cryptography.
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
make_tmp
jpkid_trap
D="$T/ca"

pyq() { # KIND ARGS...: ocsp_check.py query against the KIND CA's URL
	local kind=$1
	shift
	"$PY" "$CHK" query "$URL/ocsp/$kind" "$D/$kind/ca.pem" "$@"
}
expect_pyq() { # WANT KIND ARGS...
	local want=$1 got
	shift
	got=$(pyq "$@") || fail "ocsp_check.py query $*: $got"
	[[ $got == $want ]] || fail "python cryptography: $* -> '$got', want '$want'"
	pass "python: $* -> $got"
}
expect_ossl() { # WANT KIND CERT [options]: openssl ocsp verifies and reads WANT
	local want=$1
	shift
	_run ossl "$@"
	[ "$STATUS" -eq 0 ] || fail_run "openssl ocsp $*: status $STATUS"
	grep -q '^Response verify OK' "$ERR" || fail_run "openssl ocsp $*: the response did not verify"
	grep -Eq -- "^[^ ]+: $want" "$OUT" || fail_run "openssl ocsp $*: want '$want'"
	pass "openssl ocsp $*: $want"
}

note "programs refuse what they must"
run_ok "$JPKID" --help
expect_output_has "Usage: jpkid"
expect_exit 2 "$JPKID" --bogus
expect_exit 2 "$JPKID" --port 70000
expect_exit 16 "$JPKID" -d "$T/nothing" --port 0
expect_one_line_err "no CA in"

note "a CA, and jpkid on a free port; the certificates then name that port"
run_ok "$J" -d "$D" init --test
start_jpkid
sed -i "s|^base_url = .*|base_url = $URL|" "$D/jpki.conf"
expect_exit 14 "$JPKID" -d "$D" --port "$PORT"
expect_one_line_err "cannot listen"

newkey k1
for n in s1 s2 a1 a2; do
	KEY=k1 issue "$n" "$( [ "${n:0:1}" = s ] && echo sign || echo auth)"
	eval "SER_$n=$SERIAL"
done
expect_eq "$(openssl x509 -in "$T/s1.pem" -noout -ocsp_uri)" "$URL/ocsp/sign" "AIA of s1"
expect_eq "$(openssl x509 -in "$T/a1.pem" -noout -ocsp_uri)" "$URL/ocsp/auth" "AIA of a1"

note "good: openssl POST, nonce or not, SHA-1 and SHA-256 CertIDs"
for n in s1 a1; do
	k=$([ "${n:0:1}" = s ] && echo sign || echo auth)
	expect_ossl good "$k" "$T/$n.pem"
	expect_ossl good "$k" "$T/$n.pem" -no_nonce
	expect_ossl good "$k" "$T/$n.pem" -sha256
	expect_ossl good "$k" "$T/$n.pem" -sha256 -no_nonce
done
# With a nonce openssl checks it was echoed (it would warn otherwise).
_run ossl sign "$T/s1.pem"
expect_output_lacks "WARNING: no nonce" "$ERR"

note "good: Python cryptography, POST and GET, SHA-1 and SHA-256, nonce"
expect_pyq good sign --cert "$T/s1.pem"
expect_pyq good sign --cert "$T/s1.pem" --hash sha256 --nonce
expect_pyq good auth --cert "$T/a1.pem" --get
expect_pyq good auth --cert "$T/a2.pem" --hash sha256 --get

note "GET with curl: RFC 5019 cache headers, ETag and 304"
openssl ocsp -issuer "$D/auth/ca.pem" -cert "$T/a2.pem" -no_nonce -reqout "$T/a2.req" 2>/dev/null
b64=$(base64 -w0 "$T/a2.req")
enc=$(printf '%s' "$b64" | sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g')
run_ok curl -sf -D "$T/h1" -o "$T/get.der" "$URL/ocsp/auth/$enc"
tr -d '\r' <"$T/h1" >"$T/h"
expect_output_has '^Content-Type: application/ocsp-response$' "$T/h"
expect_output_has '^Cache-Control: max-age=[0-9]+, public, no-transform, must-revalidate$' "$T/h"
for h in Last-Modified Expires ETag Date; do expect_output_has "^$h: " "$T/h"; done
maxage=$(sed -n 's/^Cache-Control: max-age=\([0-9]*\).*/\1/p' "$T/h")
expires=$(date -u -d "$(sed -n 's/^Expires: //p' "$T/h")" +%s)
date_h=$(date -u -d "$(sed -n 's/^Date: //p' "$T/h")" +%s)
lastmod=$(date -u -d "$(sed -n 's/^Last-Modified: //p' "$T/h")" +%s)
[ $((date_h + maxage)) -le "$expires" ] || fail "max-age $maxage passes Expires (Date $date_h, Expires $expires)"
pass "max-age never passes nextUpdate"
_run openssl ocsp -respin "$T/get.der" -issuer "$D/auth/ca.pem" -CAfile "$D/auth/ca.pem" -cert "$T/a2.pem" -resp_text
expect_output_has "a2.pem: good"
nu=$(date -u -d "$(sed -n 's/^ *Next Update: //p' "$OUT" | head -n 1)" +%s)
tu=$(date -u -d "$(sed -n 's/^ *This Update: //p' "$OUT" | head -n 1)" +%s)
expect_eq "$nu" "$expires" "Expires = nextUpdate"
expect_eq "$tu" "$lastmod" "Last-Modified = thisUpdate"
expect_eq "$((nu - tu))" 3600 "nextUpdate - thisUpdate (default validity)"
etag=$(sed -n 's/^ETag: //p' "$T/h")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/ocsp/auth/$enc")
expect_eq "$code" 304 "GET with the ETag: 304"
# URL-safe alphabet without padding, the same answer
safe=$(printf '%s' "$b64" | tr '+/' '-_' | tr -d '=')
run_ok curl -sf -o "$T/get2.der" "$URL/ocsp/auth/$safe"
expect_same_file "$T/get.der" "$T/get2.der" "base64url GET = percent-encoded GET (cached)"
# The POST of the same request gets the same cached response.
run_ok curl -sf --data-binary @"$T/a2.req" -H 'Content-Type: application/ocsp-request' -o "$T/post.der" "$URL/ocsp/auth"
expect_same_file "$T/get.der" "$T/post.der" "POST = GET (one cached response)"

note "revocation while jpkid runs shows within 1 s"
openssl ocsp -issuer "$D/sign/ca.pem" -cert "$T/s1.pem" -no_nonce -reqout "$T/s1.req" 2>/dev/null
run_ok curl -sf --data-binary @"$T/s1.req" -o "$T/s1.before" "$(openssl x509 -in "$T/s1.pem" -noout -ocsp_uri)"
expect_eq "$(resp_status "$T/s1.before")" good "s1 good (and cached) before"
run_ok "$J" -d "$D" revoke --kind sign --serial "$SER_s1" --reason keyCompromise
wait_status 1 revoked "$T/s1.pem" "$T/s1.req"
expect_ossl "revoked" sign "$T/s1.pem"
expect_output_has "Reason: keyCompromise"
expect_ossl "revoked" sign "$T/s1.pem" -sha256 -no_nonce
expect_pyq "revoked key_compromise *" sign --cert "$T/s1.pem" --hash sha256
expect_pyq "revoked key_compromise *" sign --cert "$T/s1.pem" --get

note "hold (L8): revoked with certificateHold; release of the auth certificate: good again"
openssl ocsp -issuer "$D/auth/ca.pem" -cert "$T/a1.pem" -no_nonce -reqout "$T/a1.req" 2>/dev/null
run_ok "$J" -d "$D" hold --kind auth --serial "$SER_a1"
wait_status 1 revoked "$T/a1.pem" "$T/a1.req"
expect_ossl revoked auth "$T/a1.pem"
expect_output_has "Reason: certificateHold"
expect_pyq "revoked certificate_hold *" auth --cert "$T/a1.pem"
run_ok "$J" -d "$D" release --kind auth --serial "$SER_a1"
wait_status 1 good "$T/a1.pem" "$T/a1.req"
expect_ossl good auth "$T/a1.pem" -sha256
expect_pyq good auth --cert "$T/a1.pem" --hash sha256 --get
run_ok "$J" -d "$D" hold --kind sign --serial "$SER_s2"
expect_exit 23 "$J" -d "$D" release --kind sign --serial "$SER_s2"
openssl ocsp -issuer "$D/sign/ca.pem" -cert "$T/s2.pem" -no_nonce -reqout "$T/s2.req" 2>/dev/null
wait_status 1 revoked "$T/s2.pem" "$T/s2.req"
expect_pyq "revoked certificate_hold *" sign --cert "$T/s2.pem"

note "never issued: revoked, certificateHold, 1970-01-01, extended revoke extension"
_run openssl ocsp -url "$URL/ocsp/sign" -issuer "$D/sign/ca.pem" -CAfile "$D/sign/ca.pem" -serial 0x4242424242 -resp_text
[ "$STATUS" -eq 0 ] || fail_run "openssl ocsp -serial"
expect_output_has "0x4242424242: revoked"
expect_output_has "Reason: certificateHold"
expect_output_has "Revocation Time: Jan  1 00:00:00 1970 GMT"
# OpenSSL names id-pkix-ocsp-extended-revoke (1.3.6.1.5.5.7.48.1.9) "valid".
expect_output_has "^ +valid: ?$"
expect_pyq "revoked certificate_hold 1970-01-01T00:00:00Z" sign --serial 4242424242 --hash sha256 --nonce
expect_pyq "revoked certificate_hold 1970-01-01T00:00:00Z" auth --serial "$SER_s1"  # a sign serial asked of auth

note "refused: a foreign CA (unauthorized), malformed requests, oversize, bad paths"
run_ok "$J" -d "$T/ca2" init --test
newkey k2
run_ok "$J" -d "$T/ca2" issue --kind auth --pubkey "$T/keys/k2.pub" --dob 1990-01-01 --out "$T/f.pem"
_run openssl ocsp -url "$URL/ocsp/auth" -issuer "$T/ca2/auth/ca.pem" -cert "$T/f.pem"
expect_output_has "Responder Error: unauthorized" "$OUT"
expect_eq "$("$PY" "$CHK" query "$URL/ocsp/auth" "$T/ca2/auth/ca.pem" --cert "$T/f.pem")" "status UNAUTHORIZED" "python: unauthorized"
printf 'this is not DER' >"$T/junk"
run_ok curl -sf --data-binary @"$T/junk" -H 'Content-Type: application/ocsp-request' -o "$T/junk.resp" "$URL/ocsp/sign"
expect_eq "$(od -An -tx1 "$T/junk.resp" | tr -d ' \n')" 30030a0101 "malformedRequest for junk"
head -c 60 "$T/s1.req" >"$T/trunc"
run_ok curl -sf --data-binary @"$T/trunc" -o "$T/trunc.resp" "$URL/ocsp/sign"
expect_eq "$(od -An -tx1 "$T/trunc.resp" | tr -d ' \n')" 30030a0101 "malformedRequest for a truncated request"
run_ok curl -sf -o "$T/badget.resp" "$URL/ocsp/sign/MEQw%zz"
expect_eq "$(od -An -tx1 "$T/badget.resp" | tr -d ' \n')" 30030a0101 "malformedRequest for a bad GET"
head -c 20000 /dev/zero >"$T/big"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/big" "$URL/ocsp/sign")" 413 "20 kB request refused"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$URL/ocsp/sign")" 413 "20 kB chunked request refused"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ocsp/sign")" 405 "GET of the POST URL: 405"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nothing")" 404 "unknown path: 404"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/health")" 501 "unknown method: 501"
expect_ossl good auth "$T/a2.pem"  # and it keeps serving

note "CRLs at the URLs the certificates name: ETag, Last-Modified, 304, a new CRL at once"
run_ok "$J" -d "$D" crl
crl_url=$(openssl x509 -in "$T/s1.pem" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p')
expect_eq "$crl_url" "$URL/crl/sign/0.crl" "CRLDP of s1"
run_ok curl -sf -D "$T/ch1" -o "$T/0.crl" "$crl_url"
tr -d '\r' <"$T/ch1" >"$T/ch"
expect_same_file "$T/0.crl" "$D/crl/sign/0.crl" "CRL served = CRL published"
expect_output_has '^Content-Type: application/pkix-crl$' "$T/ch"
etag=$(sed -n 's/^ETag: //p' "$T/ch")
lm=$(sed -n 's/^Last-Modified: //p' "$T/ch")
[ -n "$etag" ] && [ -n "$lm" ] || fail "CRL without ETag or Last-Modified"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$crl_url")" 304 "CRL If-None-Match: 304"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$crl_url")" 304 "CRL If-Modified-Since: 304"
openssl crl -inform DER -in "$T/0.crl" -noout -text | grep -q "$SER_s1" || fail "the CRL lacks s1"
pass "the served CRL lists s1"
run_ok curl -sf -o "$T/0d.crl" "$URL/crl/sign/0-delta.crl"
expect_same_file "$T/0d.crl" "$D/crl/sign/0-delta.crl" "delta CRL served = published"
run_ok "$J" -d "$D" crl --kind sign
run_ok curl -sf -D "$T/ch2" -o "$T/0b.crl" -H "If-None-Match: $etag" "$crl_url"
expect_same_file "$T/0b.crl" "$D/crl/sign/0.crl" "the new CRL is served at once"
grep -qi "^ETag: $etag" "$T/ch2" && fail "ETag unchanged after a new CRL"
pass "new CRL, new ETag"
for p in /crl/sign/9.crl /crl/sign/00.crl /crl/x/0.crl /crl/sign/../jpki.conf /crl/sign/0.crl.tmp; do
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$URL$p")" 404 "$p: 404"
done

note "CA certificates and fingerprints (L12), health"
run_ok curl -sf -o "$T/sign.pem" "$URL/ca/sign.pem"
expect_same_file "$T/sign.pem" "$D/sign/ca.pem" "/ca/sign.pem"
run_ok curl -sf -o "$T/auth.pem" "$URL/ca/auth.pem"
expect_same_file "$T/auth.pem" "$D/auth/ca.pem" "/ca/auth.pem"
run_ok curl -sf -o "$T/fp.json" "$URL/ca/fingerprints"
"$J" -d "$D" fingerprint --json >"$T/fp.want"
expect_same_file "$T/fp.json" "$T/fp.want" "/ca/fingerprints = jpki-ca fingerprint --json"
run_ok curl -sf "$URL/health"
expect_output_has '"status":"ok"'
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" || fail "health is not JSON"
pass "health is JSON"

note "access log, one line a request; SIGTERM ends jpkid cleanly"
expect_output_has '^[0-9TZ:-]+ 127\.0\.0\.1 POST /ocsp/sign 200 [0-9]+ [0-9]+us good$' "$T/access.log"
expect_output_has ' GET /crl/sign/0\.crl 304 0 ' "$T/access.log"
stop_jpkid TERM
expect_eq "$JPKID_STATUS" 0 "exit status after SIGTERM"
[ ! -s "$T/jpkid.err" ] || fail "jpkid wrote to stderr: $(head -n 5 "$T/jpkid.err")"
pass "quiet"
summary
