#!/usr/bin/env bash
# OpenJPKI benchmarks, each against the peer it replaces, in one run:
#  (a) a full CRL of N revoked entries (default 1,000,000) from the store,
#      against `openssl ca -gencrl` over an index.txt with the same entries:
#      both times, the ratio and the peak memory (GNU time);
#  (b) the issuance rate with keys given, against the RSA-2048 sign rate of
#      `openssl speed` on the same machine;
#  (c) with --ocsp: jpkid's OCSP rate and latency against `openssl ocsp`
#      (bench/ocsp.sh: 100,000 certificates, wrk on loopback).
# Usage: bash bench/run.sh [--ocsp] [N] [ISSUE_COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
OCSP=0
if [ "${1:-}" = --ocsp ]; then OCSP=1; shift; fi
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
