# shellcheck shell=bash
# Helpers for system tests that plug the virtual card (jpki-card) into a
# private pcscd through vpcd (peers.md: "A private pcscd with the virtual
# reader").  Source after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/card_lib.sh"
#
# card_require_peers          skip unless root, pcscd, vpcd, OpenSC are there
# card_enter_namespace "$@"   re-run the test in its own mount namespace
#                             (returns inside it; call it before make_tmp)
# card_pick_port              CARD_PORT: a free even port 20000-29998, below
#                             the kernel's ephemeral range (32768-60999) where
#                             clients of parallel tests (curl, wrk) get theirs
# card_setup                  after make_tmp: tmpfs on /run/pcscd, pcscd.conf
#                             for CARD_PORT (readers "Virtual PCD 00 00"/"00 01"),
#                             a private OpenSC config and HOME, the cleanup trap
# pcscd_start / pcscd_stop    the private pcscd (PCSCD_PID, log $T/pcscd.log)
# card_run NAME CARDFILE PORT [ARGS]   jpki-card run in the background,
#                             its pid in CARD_PIDS[NAME], log $T/NAME.log
# card_kill NAME [SIGNAL]     signal it (default TERM) and wait (bounded)
# wait_card READER present|absent [SECONDS]   poll opensc-tool -l (bounded)
#
# Every process started here is killed when the test exits.

CARD_READER0="Virtual PCD 00 00"
CARD_READER1="Virtual PCD 00 01"
CARD_P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
CARD_VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
PCSCD_PID=
declare -A CARD_PIDS=()

card_require_peers() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a private pcscd (mount namespace)"
	skip_unless_cmd pcscd "Debian package pcscd"
	skip_unless_cmd opensc-tool "Debian package opensc"
	skip_unless_cmd pkcs15-tool "Debian package opensc"
	skip_unless_cmd pkcs11-tool "Debian package opensc"
	skip_unless_cmd openssl
	skip_unless_cmd unshare "util-linux"
	[ -f "$CARD_VPCD" ] || skip "vpcd driver $CARD_VPCD not found (Debian package vsmartcard-vpcd)"
	[ -f "$CARD_P11" ] || skip "$CARD_P11 not found (Debian package opensc-pkcs11)"
	opensc-tool -D 2>/dev/null | grep -qw jpki || skip "this OpenSC has no jpki card driver"
}

card_enter_namespace() {
	if [ -z "${JPKI_CARD_NS:-}" ]; then
		unshare -m --propagation private true 2>/dev/null ||
			skip "cannot create a mount namespace here (unshare -m failed)"
		mkdir -p /run/pcscd
		JPKI_CARD_NS=1 exec unshare -m --propagation private bash "$0" "$@"
	fi
}

# A port nobody listens on, and the next one too (vpcd binds CHANNELID and +1).
card_pick_port() {
	local i p
	for i in $(seq 1 20); do
		p=$((20000 + (RANDOM % 5000) * 2))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
			CARD_PORT=$p
			return 0
		fi
	done
	fail "no free port pair found in 20000-29999"
}

card_setup() {
	local hex
	mount -t tmpfs tmpfs /run/pcscd || fail "cannot mount a tmpfs on /run/pcscd"
	[ -n "${CARD_PORT:-}" ] || card_pick_port
	hex=$(printf '0x%X' "$CARD_PORT")
	mkdir -p "$T/pcscd.conf.d" "$T/home"
	cat >"$T/pcscd.conf.d/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$hex
LIBPATH      $CARD_VPCD
CHANNELID    $hex
EOF
	# No file caching: what OpenSC shows is what the card holds now.
	cat >"$T/opensc.conf" <<EOF
app default {
	framework pkcs15 {
		use_file_caching = no;
	}
}
EOF
	export OPENSC_CONF="$T/opensc.conf"
	export HOME="$T/home"
	trap _card_cleanup EXIT
}

_card_cleanup() {
	local rc=$? name
	# Under set -e, the (exit "$rc") below would end the trap before the
	# temp directory is removed.
	set +e
	for name in "${!CARD_PIDS[@]}"; do
		kill -KILL "${CARD_PIDS[$name]}" 2>/dev/null || true
	done
	if [ -n "$PCSCD_PID" ]; then
		kill -KILL "$PCSCD_PID" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	if [ "$rc" -ne 0 ] && [ -n "${T:-}" ] && [ -f "$T/pcscd.log" ]; then
		echo "--- last lines of pcscd.log:" >&2
		tail -n 15 "$T/pcscd.log" >&2
		for name in "${!CARD_PIDS[@]}"; do
			echo "--- last lines of $name.log:" >&2
			tail -n 15 "$T/$name.log" >&2 || true
		done
	fi
	(exit "$rc")
	_lib_cleanup
}

# _wait_gone PID SECONDS: wait for a child to end; 1 if it is still there.
_wait_gone() {
	local pid=$1 n=$(($2 * 10))
	while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		return 1
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

pcscd_start() {
	local n=100
	pcscd -f -c "$T/pcscd.conf.d" >>"$T/pcscd.log" 2>&1 &
	PCSCD_PID=$!
	while [ ! -S /run/pcscd/pcscd.comm ] && [ "$n" -gt 0 ]; do
		kill -0 "$PCSCD_PID" 2>/dev/null || fail "pcscd exited at start (see pcscd.log)"
		sleep 0.1
		n=$((n - 1))
	done
	[ -S /run/pcscd/pcscd.comm ] || fail "pcscd did not open its socket within 10 s"
}

pcscd_stop() {
	[ -n "$PCSCD_PID" ] || return 0
	kill -TERM "$PCSCD_PID" 2>/dev/null || true
	_wait_gone "$PCSCD_PID" 10 || {
		kill -KILL "$PCSCD_PID" 2>/dev/null || true
		_wait_gone "$PCSCD_PID" 5 || true
	}
	PCSCD_PID=
}

card_run() {
	local name=$1 file=$2 port=$3
	shift 3
	"$JPKI_BIN/jpki-card" run "$file" --port "$port" "$@" >>"$T/$name.log" 2>&1 &
	CARD_PIDS[$name]=$!
}

card_kill() {
	local name=$1 sig=${2:-TERM} pid=${CARD_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	_wait_gone "$pid" 10 || fail "jpki-card ($name) did not end within 10 s of SIG$sig"
	unset "CARD_PIDS[$name]"
}

# wait_card READER present|absent [SECONDS]: opensc-tool -l says "Yes"/"No"
# in the Card column of that reader.
wait_card() {
	local reader=$1 want=$2 secs=${3:-15} n pat
	n=$((secs * 5))
	if [ "$want" = present ]; then pat="^[0-9]+ +Yes +$reader\$"; else pat="^[0-9]+ +No +$reader\$"; fi
	while [ "$n" -gt 0 ]; do
		if opensc-tool -l 2>/dev/null | grep -Eq -- "$pat"; then
			return 0
		fi
		sleep 0.2
		n=$((n - 1))
	done
	opensc-tool -l >&2 || true
	fail "card not $want in '$reader' within $secs s"
}

# expect_opensc_fail CMD...: the OpenSC tool must fail.  They exit 255 (-1)
# on a refused operation, which expect_fail would take for a signal; a real
# signal death (129-254) is still an error.
expect_opensc_fail() {
	_run "$@"
	[ "$STATUS" -ne 0 ] || fail "succeeded, want a failure: $*"
	{ [ "$STATUS" -lt 128 ] || [ "$STATUS" -eq 255 ]; } || fail "died with status $STATUS (signal?): $*"
	pass "fails ($STATUS): $*"
}
