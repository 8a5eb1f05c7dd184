#!/usr/bin/env bash
# The main job: install what is missing, build, and run the service on the
# embedded default (SQLite) on this machine, in a fresh data directory:
#   the Agency creates both CAs, a virtual Individual Number Card is made
#   and personalized (key pairs generated on the card, the Signing CA and the
#   User-Authentication CA issue her certificates, written to the card), the
#   CRLs are published, and everything is checked with openssl.
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

step "The issuing side's key, and a blank Individual Number Card (a card file)"
openssl ecparam -name prime256v1 -genkey -noout -out "$DATA/issuer.key" 2>/dev/null
chmod 600 "$DATA/issuer.key"
"$BIN/jpki-card" new "$DATA/resident/card" --issuer-key "$DATA/issuer.key"

step "Personalize the card: key pairs made on the card, both certificates issued and written, PINs set"
"$BIN/jpki-card" personalize "$DATA/resident/card" --issuer-key "$DATA/issuer.key" \
  --ca-dir "$DATA/ca" --name "個人　花子" --dob 1977-11-07 --sex 2 \
  --address "東京都千代田区霞が関２丁目１番２号" --card-expiry 2036-11-07 \
  --sign-pin ABC123 --auth-pin 1234 --out "$DATA/resident"
"$BIN/jpki-card" info "$DATA/resident/card"

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
  the resident's card       $DATA/resident/card  (keys never leave it; PINs ABC123 / 1234)
  resident's certificates   $DATA/resident/sign.pem, auth.pem  (copies of what the card holds)
  issuer key (the window)   $DATA/issuer.key
Try: $BIN/jpki-ca -d $DATA/ca list --kind sign
     $BIN/jpki-card info $DATA/resident/card --sign-pin ABC123
     openssl x509 -in $DATA/resident/sign.pem -noout -text -nameopt utf8
EOT
