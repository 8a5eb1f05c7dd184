# shellcheck shell=bash
# Shared helpers for the system tests (tests/system/test_*.sh).  Source it:
#
#   . "$(dirname "$0")/lib.sh"
#
# CTest runs every test with JPKI_BIN (the build directory holding the
# programs), JPKI_SRC (the repository root) and JPKI_TEST_TMP (scratch space);
# exit status 77 means SKIPPED.  Each helper that checks something counts it
# in CHECKS; `summary` prints "<test>: N checks passed".
#
# After expect_exit / expect_fail / run_ok, the command's output is in the
# files $OUT and $ERR and its status in $STATUS.

TEST_NAME=$(basename "${0:-system-test}" .sh)
CHECKS=0
FAILURES=0
STATUS=0
T=
OUT=/dev/null # until make_tmp
ERR=/dev/null

# Messages from our programs in English, but UTF-8 arguments intact.
export LC_ALL=C.UTF-8
unset LANGUAGE LC_MESSAGES LANG 2>/dev/null || true

# A repo-relative default lets a test run by hand: bash tests/system/test_x.sh
: "${JPKI_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${JPKI_BIN:=$JPKI_SRC/build}"
: "${JPKI_TEST_TMP:=${TMPDIR:-/tmp}}"
export JPKI_SRC JPKI_BIN JPKI_TEST_TMP

# fail MESSAGE...: report and stop the test (status 1).
fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	exit 1
}

# fail_run MESSAGE...: fail, showing what the last captured command printed.
fail_run() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	if [ -s "$OUT" ]; then
		echo "--- stdout of the command:" >&2
		head -n 40 "$OUT" >&2
	fi
	if [ -s "$ERR" ]; then
		echo "--- stderr of the command:" >&2
		head -n 40 "$ERR" >&2
	fi
	exit 1
}

# soft CMD...: run an assertion (a helper above, or a function of them) in a
# subshell without stopping the test when it fails: the failure is reported,
# counted, and makes `summary` fail the test.  For independent checks, so one
# finding does not hide the others.  Plain commands inside CMD stop it under
# set -e as usual; counts made inside are not kept (one check is counted).
soft() {
	local rc errexit=0
	[[ $- == *e* ]] && errexit=1
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	((errexit)) && set -e
	if [ "$rc" -eq 0 ]; then
		CHECKS=$((CHECKS + 1))
	elif [ "$rc" -eq 77 ]; then
		echo "# skipped inside soft: $*"
	else
		FAILURES=$((FAILURES + 1))
		echo "# (continuing after the failure above: $*)" >&2
	fi
	return 0
}

# skip REASON...: stop the test as SKIPPED (CTest: exit status 77).
skip() {
	echo "SKIPPED: $*"
	exit 77
}

# pass [WHAT]: count one passed check (printed when JPKI_TEST_VERBOSE is set).
pass() {
	CHECKS=$((CHECKS + 1))
	if [ -n "${JPKI_TEST_VERBOSE:-}" ]; then
		echo "ok $CHECKS - $*"
	fi
	return 0
}

# note MESSAGE...: progress line on stdout (CTest shows it with -V or on failure).
note() {
	echo "# $*"
}

# skip_unless_cmd CMD [WHY]: skip the test when CMD is not on PATH (or not
# executable, for a path), saying which and, if given, where it comes from.
skip_unless_cmd() {
	local cmd=$1
	shift
	if [[ $cmd == */* ]]; then
		[ -x "$cmd" ] && return 0
	elif command -v "$cmd" >/dev/null 2>&1; then
		return 0
	fi
	skip "$cmd not found${*:+ ($*)}"
}

# need_prog NAME: the path of a built program in $JPKI_BIN, or fail.
need_prog() {
	local p="$JPKI_BIN/$1"
	[ -x "$p" ] || fail "$p not built (build with: bash scripts/build.sh)"
	printf '%s\n' "$p"
}

# make_tmp: a fresh directory $T under $JPKI_TEST_TMP, removed when the test
# exits (kept when JPKI_TEST_KEEP is set, to look at after a failure).
make_tmp() {
	mkdir -p "$JPKI_TEST_TMP" || fail "cannot create $JPKI_TEST_TMP"
	T=$(mktemp -d "$JPKI_TEST_TMP/$TEST_NAME.XXXXXX") || fail "mktemp failed"
	OUT="$T/.out"
	ERR="$T/.err"
	: >"$OUT"
	: >"$ERR"
	trap _lib_cleanup EXIT
}

_lib_cleanup() {
	local rc=$?
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ -n "${JPKI_TEST_KEEP:-}" ]; then
			echo "# kept $T" >&2
		else
			rm -rf -- "$T"
		fi
	fi
	exit "$rc"
}

# _run CMD...: run, capturing stdout/stderr into $OUT/$ERR and the status in
# $STATUS, whatever set -e says.
_run() {
	[ -n "${T:-}" ] || fail "make_tmp was not called"
	STATUS=0
	"$@" >"$OUT" 2>"$ERR" || STATUS=$?
}

# run_ok CMD...: the command must succeed.
run_ok() {
	_run "$@"
	[ "$STATUS" -eq 0 ] || fail_run "exit status $STATUS, want 0: $*"
	pass "$*"
}

# expect_exit N CMD...: the command must exit with status N.
expect_exit() {
	local want=$1
	shift
	_run "$@"
	[ "$STATUS" -eq "$want" ] || fail_run "exit status $STATUS, want $want: $*"
	pass "exit $want: $*"
}

# expect_fail CMD...: the command must fail (any non-zero status below 128:
# a crash or a signal is never an expected failure).
expect_fail() {
	_run "$@"
	[ "$STATUS" -ne 0 ] || fail_run "succeeded, want a failure: $*"
	[ "$STATUS" -lt 128 ] || fail_run "died with status $STATUS (signal?): $*"
	pass "fails ($STATUS): $*"
}

# expect_output_has PATTERN [FILE]: an extended regexp found in FILE ($OUT).
expect_output_has() {
	local pat=$1 f=${2:-$OUT}
	grep -Eq -- "$pat" "$f" || fail_run "'$pat' not found in $f"
	pass "output has '$pat'"
}

# expect_output_lacks PATTERN [FILE]
expect_output_lacks() {
	local pat=$1 f=${2:-$OUT}
	if grep -Eq -- "$pat" "$f"; then
		fail_run "'$pat' found in $f, it should not be"
	fi
	pass "output lacks '$pat'"
}

# expect_one_line_err PATTERN: stderr is exactly one line and matches PATTERN.
expect_one_line_err() {
	local n
	n=$(wc -l <"$ERR")
	[ "$n" -eq 1 ] || fail_run "stderr has $n lines, want exactly one naming the problem"
	grep -Eq -- "$1" "$ERR" || fail "stderr does not name the problem ('$1'): $(cat "$ERR")"
	pass "one-line error matching '$1'"
}

# expect_eq GOT WANT WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
	pass "$3"
}

# expect_same_file A B WHAT: byte-identical files.
expect_same_file() {
	cmp -s -- "$1" "$2" || fail "$3: $1 and $2 differ: $(diff -- "$1" "$2" | head -n 10)"
	pass "$3"
}

# file_mode FILE: the permission bits in octal (600).
file_mode() {
	stat -c %a -- "$1"
}

# tree_sums DIR [FIND ARGS...]: "sha256  path" of every file under DIR, sorted,
# for byte-for-byte before/after comparisons.
tree_sums() {
	local dir=$1
	shift
	(cd "$dir" && find . -type f "$@" -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# summary: the last line of the test; fails it when a soft check failed.
summary() {
	if [ "$FAILURES" -gt 0 ]; then
		echo "$TEST_NAME: $CHECKS checks passed, $FAILURES FAILED"
		exit 1
	fi
	echo "$TEST_NAME: $CHECKS checks passed"
}
