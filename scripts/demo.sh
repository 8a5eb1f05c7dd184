#!/usr/bin/env bash
# The main job: install what is missing, build, and run the service on the
# embedded default (SQLite) on this machine, in a fresh data directory:
#   the Agency creates both CAs, a resident's key pairs are made, the Signing
#   CA and the User-Authentication CA issue her certificates, the CRLs are
#   published, and everything is checked with openssl.
# Usage: bash scripts/demo.sh [DATA_DIR]   (default: ./demo-data, recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
BIN=$PWD/build
DATA=${1:-$PWD/demo-data}
rm -rf "$DATA"
mkdir -p "$DATA/resident"

step() { printf '\n== %s\n' "$*"; }

step "The Agency creates the Signing CA and the User-Authentication CA (test hierarchy)"
"$BIN/jpki-ca" -d "$DATA/ca" init --test
"$BIN/jpki-ca" -d "$DATA/ca" fingerprint

step "Key pairs for the resident (on the card in later steps; RSA-2048 here)"
for k in sign auth; do
  openssl genrsa -out "$DATA/resident/$k.key" 2048 2>/dev/null
  chmod 600 "$DATA/resident/$k.key"
  openssl rsa -in "$DATA/resident/$k.key" -pubout -out "$DATA/resident/$k.pub" 2>/dev/null
done

step "Issue the signature certificate (name, date of birth, sex, address) and the authentication certificate"
"$BIN/jpki-ca" -d "$DATA/ca" issue --kind sign --pubkey "$DATA/resident/sign.pub" \
  --name "個人　花子" --dob 1977-11-07 --sex 2 \
  --address "東京都千代田区霞が関２丁目１番２号" --card-expiry 2036-11-07 \
  --out "$DATA/resident/sign.pem" --json
"$BIN/jpki-ca" -d "$DATA/ca" issue --kind auth --pubkey "$DATA/resident/auth.pub" \
  --dob 1977-11-07 --card-expiry 2036-11-07 --out "$DATA/resident/auth.pem" --json

step "Publish the CRLs (full and delta, every partition)"
"$BIN/jpki-ca" -d "$DATA/ca" crl
"$BIN/jpki-ca" -d "$DATA/ca" list --kind sign
"$BIN/jpki-ca" -d "$DATA/ca" list --kind auth

step "Check with openssl: chains and revocation status"
openssl verify -crl_check -CAfile "$DATA/ca/sign/ca.pem" -CRLfile <(openssl crl -inform DER -in "$DATA/ca/crl/sign/0.crl") "$DATA/resident/sign.pem"
openssl verify -crl_check -CAfile "$DATA/ca/auth/ca.pem" -CRLfile <(openssl crl -inform DER -in "$DATA/ca/crl/auth/0.crl") "$DATA/resident/auth.pem"

step "Where everything is"
cat <<EOT
  CA directory              $DATA/ca  (jpki.conf, ca.db)
  Signing CA                $DATA/ca/sign/ca.pem  (key ca.key, mode 0600)
  User-Authentication CA    $DATA/ca/auth/ca.pem
  CRLs                      $DATA/ca/crl/{sign,auth}/0.crl, 0-delta.crl
  resident's certificates   $DATA/resident/sign.pem, auth.pem
  resident's keys           $DATA/resident/*.key
Try: $BIN/jpki-ca -d $DATA/ca show --kind sign --serial <SERIAL>
     openssl x509 -in $DATA/resident/sign.pem -noout -text -nameopt utf8
EOT
