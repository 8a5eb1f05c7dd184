#!/usr/bin/env bash
# The main job: install what is missing, build, and run the service on the
# embedded default (SQLite) on this machine, in a fresh data directory:
#   the Agency creates both CAs; at the municipal window an operator registers
#   a resident and issues her a virtual Individual Number Card (key pairs
#   generated on the card, both certificates issued and written to it); the
#   CRLs are published and checked with openssl; she moves house (signature
#   certificate revoked, authentication certificate still good); the audit log
#   is verified.
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

step "The window: an operator, a resident registered with photo ID"
export JPKI_OPERATOR=window1 JPKI_OPERATOR_SECRET=demo-window-pass JPKI_ISSUER_KEY="$DATA/issuer.key"
printf '%s\n' "$JPKI_OPERATOR_SECRET" | "$BIN/jpki-office" -d "$DATA/ca" operator-add window1 --pin-stdin
ID=(--id-kind driving-licence --id-number 123456789012)
RES=$("$BIN/jpki-office" -d "$DATA/ca" --json register --name "個人　花子" --kana "コジン　ハナコ" \
  --dob 1977-11-07 --sex 2 --address "東京都千代田区霞が関２丁目１番２号" "${ID[@]}" |
  sed -n 's/.*"resident": "\([0-9]*\)".*/\1/p')
echo "resident number $RES"

step "The window issues the card: key pairs made on the card, both certificates written, passwords set"
printf 'ABC123\n1234\n' | "$BIN/jpki-office" -d "$DATA/ca" issue "$RES" --card-file "$DATA/resident/card" \
  --pin-stdin "${ID[@]}"
"$BIN/jpki-office" -d "$DATA/ca" copy "$RES" sign --pem "$DATA/resident/sign.pem"
"$BIN/jpki-office" -d "$DATA/ca" copy "$RES" auth --pem "$DATA/resident/auth.pem" >/dev/null
"$BIN/jpki-card" info "$DATA/resident/card"

step "Publish the CRLs (full and delta, every partition)"
"$BIN/jpki-ca" -d "$DATA/ca" crl
"$BIN/jpki-ca" -d "$DATA/ca" list --kind sign
"$BIN/jpki-ca" -d "$DATA/ca" list --kind auth

step "Check with openssl: chains and revocation status"
openssl verify -crl_check -CAfile "$DATA/ca/sign/ca.pem" -CRLfile <(openssl crl -inform DER -in "$DATA/ca/crl/sign/0.crl") "$DATA/resident/sign.pem"
openssl verify -crl_check -CAfile "$DATA/ca/auth/ca.pem" -CRLfile <(openssl crl -inform DER -in "$DATA/ca/crl/auth/0.crl") "$DATA/resident/auth.pem"

step "The resident moves (L6): the signature certificate is revoked at once, the authentication certificate stays good"
"$BIN/jpki-office" -d "$DATA/ca" change "$RES" --fact address --value "大阪府大阪市北区中之島１丁目３番２０号" >/dev/null
"$BIN/jpki-ca" -d "$DATA/ca" crl
if openssl verify -crl_check -CAfile "$DATA/ca/sign/ca.pem" -CRLfile <(openssl crl -inform DER -in "$DATA/ca/crl/sign/0.crl") "$DATA/resident/sign.pem" 2>&1; then
  echo "demo: the signature certificate should be revoked" >&2; exit 1
fi
openssl verify -crl_check -CAfile "$DATA/ca/auth/ca.pem" -CRLfile <(openssl crl -inform DER -in "$DATA/ca/crl/auth/0.crl") "$DATA/resident/auth.pem"
"$BIN/jpki-office" -d "$DATA/ca" show "$RES"

step "Every act is in the audit log"
"$BIN/jpki-ca" -d "$DATA/ca" audit verify

step "Where everything is"
cat <<EOT
  CA directory              $DATA/ca  (jpki.conf, ca.db)
  Signing CA                $DATA/ca/sign/ca.pem  (key ca.key, mode 0600)
  User-Authentication CA    $DATA/ca/auth/ca.pem
  CRLs                      $DATA/ca/crl/{sign,auth}/0.crl, 0-delta.crl
  the resident's card       $DATA/resident/card  (keys never leave it; PINs ABC123 / 1234)
  resident's certificates   $DATA/resident/sign.pem, auth.pem  (copies of what the card holds)
  issuer key (the window)   $DATA/issuer.key
  window notices            $DATA/ca/notices/  (printable HTML, one per act)
Try: JPKI_OPERATOR=window1 JPKI_OPERATOR_SECRET=demo-window-pass $BIN/jpki-office -d $DATA/ca show $RES
     $BIN/jpki-ca -d $DATA/ca audit show
     $BIN/jpki-card info $DATA/resident/card --sign-pin ABC123
     openssl x509 -in $DATA/resident/sign.pem -noout -text -nameopt utf8
EOT
