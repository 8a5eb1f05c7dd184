#!/usr/bin/env bash
# Install the Debian packages OpenJPKI builds with and tests against.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

PACKAGES=(
  # build
  cmake make gcc pkg-config libssl-dev libsqlite3-dev libcmocka-dev
  # the server (jpkid), the HTTP client of the relying party and the client, JSON
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev
  # the card, readers and fuzzing
  pcscd libpcsclite-dev vsmartcard-vpcd opensc clang libclang-rt-14-dev
  # independent peers the tests and benchmarks compare against
  openssl gnutls-bin python3 python3-cryptography sqlite3 time curl wrk iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
