#!/usr/bin/env bash
# OpenJPKI benchmarks, each against the peer it replaces, in one run:
#  (a) a full CRL of N revoked entries (default 1,000,000) from the store,
#      against `openssl ca -gencrl` over an index.txt with the same entries:
#      both times, the ratio and the peak memory (GNU time);
#  (b) the issuance rate with keys given, against the RSA-2048 sign rate of
#      `openssl speed` on the same machine;
#  (c) with --ocsp: jpkid's OCSP rate and latency against `openssl ocsp`
#      (bench/ocsp.sh: 100,000 certificates, wrk on loopback).
#  (d) --verify, on its own: the relying party's verifications per second,
#      in-process (bench_verify), against the RSA-2048 verify rate of
#      `openssl speed` on the same machine.
# Usage: bash bench/run.sh [--ocsp] [N] [ISSUE_COUNT]
#        bash bench/run.sh --verify [COUNT [REVOKED]]    (B=DIR: use that build)
#
# Verification (--verify).  bench_verify issues a signature and an
# authentication certificate to RSA-2048 keys in software (no card), revokes
# REVOKED (default 1000) other certificates of each CA, publishes the full and
# delta CRLs, signs a 1 KiB application with jpki_cms_sign and a login
# response, then times COUNT (default 20000) of each: jpki_cms_verify (chain
# to the Signing CA) with no status, with the status from the CRLs loaded
# once (as `jpki-service --crl`), and with the full CRL read from its file at
# every verification (file://); jpki_login_verify with no status and with the
# CRLs.  No OCSP, no network.  Rates are per second of the process's CPU
# time (user + system), since `openssl speed` counts its own in user CPU
# seconds, so a loaded machine changes them less; the wall-clock rate is
# printed beside.  A verification needs at least two RSA verifies (the
# signature and the certificate's, by the CA), so it can reach at most 1/2 of
# the raw rate; CRLs at hand are checked once and remembered, a CRL read from
# its file costs a third each time.  The output gives both the fraction of
# the raw rate and of that ceiling.
# The machine's load average is printed first: other work on a shared
# machine lowers the wall-clock rates.
set -euo pipefail
cd "$(dirname "$0")/.."
OCSP=0
if [ "${1:-}" = --ocsp ]; then OCSP=1; shift; fi
if [ "${1:-}" = --verify ]; then
	shift
	COUNT=${1:-20000}
	REVOKED=${2:-1000}
	bash scripts/setup.sh
	if [ -z "${B:-}" ]; then
		bash scripts/build.sh build-bench -DCMAKE_BUILD_TYPE=Release
		B=$PWD/build-bench
	fi
	W=$(mktemp -d)
	trap 'rm -rf "$W"' EXIT
	echo "== (d) verifications per second, in-process ($COUNT each, CRLs of $REVOKED revoked entries)"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
	"$B/jpki-ca" -d "$W/ca" init --test >/dev/null
	"$B/bench_verify" "$W/ca" "$COUNT" "$REVOKED" >"$W/verify.out"
	openssl speed -seconds 3 rsa2048 >"$W/speed.out" 2>/dev/null
	ossl_verify=$(awk '/^rsa 2048 bits/ {print $7}' "$W/speed.out")
	[ -n "$ossl_verify" ] || { echo "run.sh: no 'rsa 2048 bits' line from openssl speed" >&2; exit 1; }
	echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-42s %10s %10s  %s\n' "" "CPU /s" "wall /s" "RSA verifies each"
	awk -v raw="$ossl_verify" '
	  BEGIN { d["cms-nostatus"] = "jpki_cms_verify, no status";
	          d["cms-crl"] = "jpki_cms_verify, CRLs at hand";
	          d["cms-crlfile"] = "jpki_cms_verify, CRL file read each time";
	          d["login-nostatus"] = "jpki_login_verify, no status";
	          d["login-crl"] = "jpki_login_verify, CRLs at hand" }
	  /^#/ { next }
	  { printf "%-42s %10.1f %10.1f  %d\n", d[$1], $2, $3, $4; name[NR] = $1; cpu[NR] = $2; k[NR] = $4 }
	  END {
	    printf "%-42s %10.1f %10s  (RSA-2048 public-key operations, user CPU)\n", "openssl speed rsa2048 verify", raw, ""
	    print "fraction of the raw RSA verify rate (CPU), and of the ceiling raw/k for k RSA verifies:"
	    for (i = 1; i <= NR; i++) if (name[i] != "")
	      printf "  %-40s %5.1f%%  (ceiling %.0f%%: %.0f%% of it)\n", d[name[i]],
	        100 * cpu[i] / raw, 100 / k[i], 100 * cpu[i] * k[i] / raw }' "$W/verify.out"
	echo "A CMS verification needs at least two RSA verifies (the signature and the certificate's"
	echo "chain to the Signing CA), a login the same two; a CRL read from its file one more."
	exit 0
fi
N=${1:-1000000}
ISSUE=${2:-2000}
bash scripts/setup.sh
bash scripts/build.sh build-bench -DCMAKE_BUILD_TYPE=Release
B=$PWD/build-bench
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
TIME=/usr/bin/time

echo "== (a) full CRL of $N entries"
"$B/jpki-ca" -d "$W/ca" init --test --partition-size $((N + 1))
"$B/bench_fill_store" "$W/ca" "$N" "$W/index.txt"
"$B/jpki-ca" -d "$W/ca" crl --kind sign >/dev/null   # warm the page cache once
$TIME -f "%e %M" -o "$W/ours.t" "$B/jpki-ca" -d "$W/ca" crl --kind sign >/dev/null
read -r ours_s ours_kb <"$W/ours.t"

mkdir -p "$W/ossl"
cat >"$W/ossl/ca.cnf" <<CNF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $W/ossl
database = $W/index.txt
certificate = $W/ca/sign/ca.pem
private_key = $W/ca/sign/ca.key
crlnumber = $W/ossl/crlnumber
default_md = sha256
default_crl_days = 1
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
echo 01 >"$W/ossl/crlnumber"
$TIME -f "%e %M" -o "$W/ossl.t" openssl ca -gencrl -config "$W/ossl/ca.cnf" -out "$W/ossl/crl.pem" 2>/dev/null
read -r ossl_s ossl_kb <"$W/ossl.t"
ours_n=$(openssl crl -inform DER -in "$W/ca/crl/sign/0.crl" -noout -text | grep -c 'Serial Number:' || true)
ossl_n=$(openssl crl -in "$W/ossl/crl.pem" -noout -text | grep -c 'Serial Number:' || true)
printf 'jpki-ca crl:          %8.2f s  %8d KiB peak  (%d entries)\n' "$ours_s" "$ours_kb" "$ours_n"
printf 'openssl ca -gencrl:   %8.2f s  %8d KiB peak  (%d entries)\n' "$ossl_s" "$ossl_kb" "$ossl_n"
awk -v a="$ours_s" -v b="$ossl_s" -v m="$ours_kb" -v n="$ossl_kb" 'BEGIN {
  if (a < 0.01) a = 0.01;
  printf "CRL speed ratio: %.1fx faster (goal >= 10x); memory %.2f of the peer (goal <= 0.25)\n", b / a, m / n }'

echo "== (b) issuance rate with keys given ($ISSUE certificates)"
"$B/jpki-ca" -d "$W/ca2" init --test
ours_rate=$("$B/bench_issue_rate" "$W/ca2" "$ISSUE" 100)
ossl_rate=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
printf 'jpki-ca issuance:      %10.1f certificates/s\n' "$ours_rate"
printf 'openssl speed rsa2048: %10.1f signs/s\n' "$ossl_rate"
awk -v a="$ours_rate" -v b="$ossl_rate" 'BEGIN { printf "issuance / RSA sign rate: %.0f%% (goal >= 80%%)\n", 100 * a / b }'

if [ "$OCSP" = 1 ]; then
	echo "== (c) OCSP"
	B="$B" bash bench/ocsp.sh
fi
