#!/usr/bin/env bash
# The main job: install what is missing, build, and walk a resident through
# today's residents' guide (公的個人認証サービス 利用者ガイド) with the real
# programs, on the embedded default store (SQLite), in a fresh data directory:
# the Agency's two CAs and jpkid on loopback; at the municipal window a
# resident registered and her Individual Number Card issued with both
# certificates into a virtual reader (jpki-card, vpcd, a private pcscd); then
# each section of the guide in order (scripts/walkthrough.sh): view the
# certificates, check the CA fingerprints, change the passwords, a locked PIN
# initialized, an online application signed and verified, a login, the
# validity check, suspension by the 24-hour line and release, a move, renewal
# (the clock moved with JPKI_NOW) and online revocation.
#
# Usage: bash scripts/demo.sh [DATA_DIR]   (default: ./demo-data, recreated)
# JPKI_BIN=DIR uses programs already built in DIR instead of building build/.
# As root the reader is a private pcscd in a mount namespace of its own (the
# system's pcscd is not touched); otherwise the system's pcscd with Debian's
# stock vpcd reader (port 35963) must be running.
# Exit status 0 when every step's expected outcome held; otherwise 1, naming
# the step.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${JPKI_DEMO_INNER:-}" ]; then
	bash scripts/setup.sh
	if [ -z "${JPKI_BIN:-}" ]; then
		bash scripts/build.sh build
	fi
fi
BIN=${JPKI_BIN:-$PWD/build}
BIN=$(cd "$BIN" && pwd)
DATA=${1:-$PWD/demo-data}

# As root: again, inside a mount namespace where /run/pcscd is our own.
if [ -z "${JPKI_DEMO_INNER:-}" ] && [ "$(id -u)" -eq 0 ]; then
	if unshare -m --propagation private true 2>/dev/null; then
		mkdir -p /run/pcscd
		JPKI_DEMO_INNER=private JPKI_BIN=$BIN exec unshare -m --propagation private bash "$0" "$@"
	fi
	echo "demo: cannot create a mount namespace here; using the system's pcscd" >&2
fi

rm -rf "$DATA"
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
PCSCD_PID=
VPCD_LIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

# A free even port and the next one (vpcd listens on CHANNELID and +1).
pick_vpcd_port() {
	local i p
	for i in $(seq 1 20); do
		p=$((20000 + (RANDOM % 5000) * 2))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

if [ "${JPKI_DEMO_INNER:-}" = private ]; then
	mount -t tmpfs tmpfs /run/pcscd
	VPCD_PORT=$(pick_vpcd_port) || { echo "demo: no free port for vpcd" >&2; exit 1; }
	mkdir -p "$DATA/pcscd.conf.d"
	cat >"$DATA/pcscd.conf.d/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$(printf '0x%X' "$VPCD_PORT")
LIBPATH      $VPCD_LIB
CHANNELID    $(printf '0x%X' "$VPCD_PORT")
EOF
	pcscd -f -c "$DATA/pcscd.conf.d" >"$DATA/pcscd.log" 2>&1 &
	PCSCD_PID=$!
	for _ in $(seq 1 100); do
		[ -S /run/pcscd/pcscd.comm ] && break
		sleep 0.1
	done
	[ -S /run/pcscd/pcscd.comm ] || { echo "demo: pcscd did not start (see $DATA/pcscd.log)" >&2; exit 1; }
else
	VPCD_PORT=35963
	if [ ! -S /run/pcscd/pcscd.comm ]; then
		echo "demo: no pcscd: run as root (a private pcscd), or start the system's: systemctl start pcscd.socket" >&2
		exit 1
	fi
	echo "demo: not root: the card goes into the system's pcscd, reader Virtual PCD 00 00 (port $VPCD_PORT)" >&2
fi

# shellcheck source=scripts/walkthrough.sh
. scripts/walkthrough.sh
WALK_BIN=$BIN WALK_DIR=$DATA WALK_VPCD_PORT=$VPCD_PORT

finish() {
	local rc=$?
	walk_stop
	if [ -n "$PCSCD_PID" ]; then
		kill -TERM "$PCSCD_PID" 2>/dev/null || true
		wait "$PCSCD_PID" 2>/dev/null || true
	fi
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

walk_init
START=$(date +%s)
n=0
for fn in "${WALK_STEPS[@]}"; do
	n=$((n + 1))
	if ! walk_step "$fn"; then
		echo
		echo "demo: FAILED at step $n, ${WALK_TITLE[$fn]} ($fn): ${WALK_WHY:-see above}" >&2
		exit 1
	fi
done
AUDIT=$("$BIN/jpki-ca" -d "$DATA/ca" audit verify 2>&1) || {
	echo "demo: FAILED after the steps: $AUDIT" >&2
	exit 1
}
echo
echo "demo: all ${#WALK_STEPS[@]} steps held in $(($(date +%s) - START)) s (resident $WALK_RES, card $WALK_CARDNO; $AUDIT); data in $DATA"
