# shellcheck shell=bash
# The walkthrough of today's residents' guide (公的個人認証サービス 利用者ガイド),
# section by section, with the real programs: the Agency's CAs and jpkid on
# loopback, the municipal window (jpki-office), the resident's card in a
# virtual reader (jpki-card through vpcd and pcscd), the resident's client
# (jpki) and a relying party's demo service (jpki-service).
#
# Sourced, never run: scripts/demo.sh runs the steps for a person to watch,
# tests/system/test_walkthrough.sh runs the same steps and checks each one.
#
#   WALK_BIN        the directory of the built programs
#   WALK_DIR        the data directory (created; should not exist or be empty)
#   WALK_VPCD_PORT  the vpcd port (CHANNELID) of a reader a running pcscd offers
#   walk_init       check the above, create WALK_DIR, set the environment
#   WALK_STEPS      the steps, in order: function names; WALK_TITLE[fn] their titles
#   walk_step FN    run one step: its heading, what the person sees; status 0
#                   when the step's expected outcome held, else 1 with the
#                   reason in WALK_WHY
#   walk_stop       stop every process the steps started (call it on exit)
#
# Each command's output is kept in $WALK_LOG/LABEL.out, .err and .rc (LABEL:
# the step's short name, a dot, what the command does), for the test.
# Steps run in the caller's shell (they keep state for the next one); they do
# not rely on set -e: every check returns non-zero on its own.

WALK_STEPS=(
	walk_agency walk_card walk_view walk_fingerprint walk_pin_change walk_pin_init
	walk_apply walk_login walk_validity walk_suspend walk_release walk_move walk_renew
	walk_revoke
)
declare -A WALK_TITLE=(
	[walk_agency]="認証局の開設 / The Agency: both CAs, jpkid, a relying party's service"
	[walk_card]="個人番号カードの交付 / At the window: registered, the card issued with both certificates"
	[walk_view]="電子証明書の内容の表示 / View the certificates"
	[walk_fingerprint]="自己署名証明書のフィンガープリント確認 / Check the CA fingerprints"
	[walk_pin_change]="パスワードの変更 / Change both passwords"
	[walk_pin_init]="パスワードのロックと初期化 / A locked PIN unlocked at the window"
	[walk_apply]="署名用電子証明書でオンライン申請 / Sign an online application"
	[walk_login]="利用者証明用電子証明書でログイン / Log in with the authentication certificate"
	[walk_validity]="有効性確認 / Check validity online"
	[walk_suspend]="一時保留 / Suspend the card by the 24-hour line"
	[walk_release]="一時保留の解除 / At the window: hold released, a new signature certificate"
	[walk_move]="引越し / Moving house: the signature certificate becomes invalid"
	[walk_renew]="更新 / Renewal, from 3 months before expiry (clock moved)"
	[walk_revoke]="オンライン窓口で失効申請 / Revoke online"
)

# The resident and the window.
WALK_NAME="個人　花子"
WALK_KANA="コジン　ハナコ"
WALK_DOB=1977-11-07
WALK_ADDRESS="東京都千代田区霞が関２丁目１番２号"
WALK_NEW_ADDRESS="大阪府大阪市北区中之島１丁目３番２０号"
WALK_OPERATOR=window1
WALK_OPERATOR_SECRET=demo-window-pass
WALK_LINE_OPERATOR=line1
WALK_LINE_SECRET=demo-line-pass
WALK_ID=(--id-kind driving-licence --id-number 123456789012)

# State the steps pass on.
# shellcheck disable=SC2034 # read by the callers
WALK_WHY=
WALK_OFFSET=0  # seconds the clock is moved (JPKI_NOW), 0: the real clock
WALK_RES=      # resident number
WALK_CARDNO=   # card number
WALK_SIGN_PW=  # the signing password now
WALK_AUTH_PIN= # the authentication PIN now
WALK_PORT=     # jpkid
WALK_URL=
WALK_SVC_URL=  # jpki-service
declare -A WALK_PIDS=()
_W_STDIN=()
_W_SHOW=
_W_LABEL=

walk_init() {
	: "${WALK_BIN:?}" "${WALK_DIR:?}" "${WALK_VPCD_PORT:?}"
	local p
	for p in jpki jpki-ca jpki-card jpki-office jpki-service jpkid; do
		[ -x "$WALK_BIN/$p" ] || { echo "walkthrough: $WALK_BIN/$p not built" >&2; return 1; }
	done
	for p in curl openssl python3; do
		command -v "$p" >/dev/null || { echo "walkthrough: $p not found" >&2; return 1; }
	done
	mkdir -p "$WALK_DIR" || return 1
	WALK_DIR=$(cd "$WALK_DIR" && pwd)
	WALK_LOG=$WALK_DIR/log
	mkdir -p "$WALK_LOG"
	# The programs by name, as a person types them; messages in English.
	PATH=$WALK_BIN:$PATH
	export LC_ALL=C.UTF-8
	unset LANGUAGE LANG LC_MESSAGES JPKI_NOW JPKI_CA_DIR 2>/dev/null || true
	export JPKI_OPERATOR=$WALK_OPERATOR JPKI_OPERATOR_SECRET=$WALK_OPERATOR_SECRET
	export JPKI_ISSUER_KEY=$WALK_DIR/issuer.key
}

# ---- running and showing --------------------------------------------------------------

# The clock the programs see: the real one, or moved by WALK_OFFSET seconds.
_w_now() {
	date -u -d "@$(($(date +%s) + WALK_OFFSET))" +%Y-%m-%dT%H:%M:%SZ
}
_w_env() {
	if [ "$WALK_OFFSET" -ne 0 ]; then
		env JPKI_NOW="$(_w_now)" "$@"
	else
		"$@"
	fi
}

# A command line as a person would type it.
_w_quote() {
	local a out=
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+=" $a"
		else
			out+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	printf '%s' "${out# }"
}

# w_in LINE...: the next w_do reads these lines on standard input (PINs).
w_in() { _W_STDIN=("$@"); }
# w_show N|notice|json|none|/REGEX/: how the next w_do shows its output
# (default: the first 14 lines).
w_show() { _W_SHOW=$1; }
# w_say TEXT: one line of explanation.
w_say() { printf '  (%s)\n' "$*"; }

_w_display() { # FILE...: the output, trimmed as _W_SHOW says
	local mode=${_W_SHOW:-14} n
	case $mode in
	none) return 0 ;;
	json) cat "$@" | python3 -m json.tool --no-ensure-ascii 2>/dev/null || cat "$@" ;;
	notice)
		# A window notice: its reference and what was done.
		cat "$@" | sed 's/^  //' | awk '/^Reference number/ { print; next }
			/^\[ What was done \]/ { on = 1; next }
			on && /^$/ { on = 0 }
			on { print }
			/^Printable notice/ { print }'
		;;
	/*/)
		mode=${mode#/}
		cat "$@" | grep -E -- "${mode%/}" || true
		;;
	*)
		n=$(cat "$@" | wc -l)
		cat "$@" | head -n "$mode"
		[ "$n" -le "$mode" ] || echo "… ($((n - mode)) more lines)"
		;;
	esac | awk '{ print "  " $0 }'
}

# w_do LABEL WANT CMD...: run CMD in the data directory, show it and its
# output, keep them as LABEL, and hold the step to exit status WANT.
w_do() {
	local label=$1 want=$2 rc=0 f shown=
	shift 2
	f=$WALK_LOG/$label
	_W_LABEL=$label
	[ "$WALK_OFFSET" -eq 0 ] || shown="JPKI_NOW=$(_w_now) "
	if [ ${#_W_STDIN[@]} -gt 0 ]; then
		shown="printf '%s\\n' $(_w_quote "${_W_STDIN[@]}") | $shown"
	fi
	printf '$ %s%s\n' "$shown" "$(_w_quote "$@")"
	if [ ${#_W_STDIN[@]} -gt 0 ]; then
		(cd "$WALK_DIR" && printf '%s\n' "${_W_STDIN[@]}" | _w_env "$@") >"$f.out" 2>"$f.err" || rc=$?
	else
		(cd "$WALK_DIR" && _w_env "$@" </dev/null) >"$f.out" 2>"$f.err" || rc=$?
	fi
	echo "$rc" >"$f.rc"
	_w_display "$f.out" "$f.err"
	_W_STDIN=()
	_W_SHOW=
	if [ "$rc" -ne "$want" ]; then
		_W_LABEL= # its output is shown above
		_w_fail "$label: exit status $rc, expected $want: $(_w_quote "$@")"
		return 1
	fi
}

# w_quiet LABEL CMD...: run CMD in the data directory, kept as LABEL, not shown.
w_quiet() {
	local label=$1 rc=0
	shift
	(cd "$WALK_DIR" && _w_env "$@" </dev/null) >"$WALK_LOG/$label.out" 2>"$WALK_LOG/$label.err" || rc=$?
	echo "$rc" >"$WALK_LOG/$label.rc"
	[ "$rc" -eq 0 ] || { _W_LABEL=$label; _w_fail "$label: exit status $rc: $(_w_quote "$@")"; return 1; }
}

# w_has LABEL REGEX: the output of LABEL (stdout or stderr) matches.
w_has() {
	grep -Eq -- "$2" "$WALK_LOG/$1.out" "$WALK_LOG/$1.err" && return 0
	_W_LABEL=$1
	_w_fail "$1: expected output matching '$2'"
}

# w_wait_rc SECONDS WANT CMD...: retry CMD quietly (standard input: w_in's
# lines) until it exits WANT (a status change reaches jpkid's OCSP cache
# within a poll); 1 when it never does.
w_wait_rc() {
	local secs=$1 want=$2 rc i in=("${_W_STDIN[@]}")
	shift 2
	_W_STDIN=()
	for ((i = 0; i < secs * 10; i++)); do
		rc=0
		(cd "$WALK_DIR" && printf '%s\n' "${in[@]}" | _w_env "$@") >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# _w_fail REASON: the step's outcome did not hold; the caller prints REASON
# (WALK_WHY).  The output of the check's command goes to standard error.
_w_fail() {
	WALK_WHY=$*
	if [ -n "$_W_LABEL" ] && [ -f "$WALK_LOG/$_W_LABEL.out" ]; then
		{
			head -n 20 "$WALK_LOG/$_W_LABEL.out"
			head -n 20 "$WALK_LOG/$_W_LABEL.err"
		} | sed 's/^/  | /' >&2
	fi
	return 1
}

# ---- processes -------------------------------------------------------------------------

_w_bg() { # NAME CMD...: in the background, log $WALK_LOG/NAME.log
	local name=$1
	shift
	# exec: the pid is the program's own, so that walk_stop ends it.
	(
		cd "$WALK_DIR" || exit
		if [ "$WALK_OFFSET" -ne 0 ]; then
			JPKI_NOW=$(_w_now)
			export JPKI_NOW
		fi
		exec "$@" </dev/null
	) >>"$WALK_LOG/$name.log" 2>&1 &
	WALK_PIDS[$name]=$!
}

walk_stop_one() {
	local name=$1 pid=${WALK_PIDS[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "WALK_PIDS[$name]"
}

walk_stop() {
	local name
	for name in "${!WALK_PIDS[@]}"; do
		walk_stop_one "$name"
	done
	return 0
}

_w_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# jpkid on WALK_PORT, on the clock the walkthrough is at.
_w_start_jpkid() {
	local i
	_w_bg jpkid jpkid -d ca --port "$WALK_PORT" --access-log log/jpkid-access.log
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null "$WALK_URL/health" && return 0
		kill -0 "${WALK_PIDS[jpkid]}" 2>/dev/null || break
		sleep 0.1
	done
	_w_fail "jpkid did not answer on $WALK_URL (log: $WALK_LOG/jpkid.log)"
}

_w_start_service() {
	local i
	rm -f "$WALK_DIR/service.port"
	_w_bg service jpki-service --sign-ca ca/sign/ca.pem --auth-ca ca/auth/ca.pem \
		--port 0 --port-file service.port
	for ((i = 0; i < 100; i++)); do
		[ -s "$WALK_DIR/service.port" ] && break
		kill -0 "${WALK_PIDS[service]}" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$WALK_DIR/service.port" ] || { _w_fail "jpki-service did not start (log: $WALK_LOG/service.log)"; return 1; }
	WALK_SVC_URL="http://127.0.0.1:$(cat "$WALK_DIR/service.port")"
}

# The card in the reader: jpki readers shows a card in a Virtual PCD reader.
_w_wait_card() {
	local i
	for ((i = 0; i < 150; i++)); do
		if (cd "$WALK_DIR" && jpki readers 2>/dev/null) | grep -q '^Virtual PCD.*	JPKI card'; then
			return 0
		fi
		kill -0 "${WALK_PIDS[card]}" 2>/dev/null || break
		sleep 0.1
	done
	_w_fail "the card did not show up in a reader (log: $WALK_LOG/card.log)"
}

# The number a window notice prints after LABEL (e.g. "Card number").
_w_notice_field() { # LABEL-OF-LOG FIELD
	sed -n "s/^  $2  *\\([0-9A-Za-z-]*\\).*/\\1/p" "$WALK_LOG/$1.out" | head -n 1
}

# ---- the steps -------------------------------------------------------------------------

walk_step() {
	local fn=$1 i n=0
	for i in "${!WALK_STEPS[@]}"; do
		[ "${WALK_STEPS[$i]}" = "$fn" ] && n=$((i + 1))
	done
	# shellcheck disable=SC2034 # read by the callers
	WALK_WHY=
	_W_LABEL=
	printf '\n== %d. %s ==\n' "$n" "${WALK_TITLE[$fn]}"
	"$fn"
}

# 1. The Agency creates both CAs (test hierarchy) whose certificates name
# jpkid on loopback for OCSP and CRLs, publishes the CRLs, starts jpkid; an
# agency's demo service (the relying party) starts too.
walk_agency() {
	WALK_PORT=$(_w_free_port) || { _w_fail "no free port"; return 1; }
	WALK_URL="http://127.0.0.1:$WALK_PORT"
	w_show none
	w_do agency.init 0 jpki-ca -d ca init --test --base-url "$WALK_URL" || return
	w_do agency.fingerprint 0 jpki-ca -d ca fingerprint || return
	w_has agency.fingerprint '([0-9A-F]{2}:){31}[0-9A-F]{2}' || return
	w_show none
	w_do agency.crl 0 jpki-ca -d ca crl || return
	# The card issuer's key: blank cards are made for it, the window (and
	# jpkid's office API, JPKI_ISSUER_KEY) personalizes cards with it.
	w_quiet agency.issuer-key openssl ecparam -name prime256v1 -genkey -noout -out issuer.key || return
	chmod 600 "$JPKI_ISSUER_KEY"
	_w_start_jpkid || return
	_w_start_service || return
	w_say "jpkid (OCSP, CRLs, CA certificates, the online window) on $WALK_URL; jpki-service on $WALK_SVC_URL"
}

# 2. At the window: operators, the resident registered with photo ID, a blank
# card in the reader, the card issued (keys made on the card, both certificates
# written, passwords set).
walk_card() {
	w_in "$WALK_OPERATOR_SECRET"
	w_do card.operator 0 jpki-office -d ca operator-add "$WALK_OPERATOR" --pin-stdin || return
	w_in "$WALK_LINE_SECRET"
	w_do card.line-operator 0 jpki-office -d ca operator-add "$WALK_LINE_OPERATOR" --pin-stdin || return
	w_do card.register 0 jpki-office -d ca register --name "$WALK_NAME" --kana "$WALK_KANA" \
		--dob "$WALK_DOB" --sex 2 --address "$WALK_ADDRESS" "${WALK_ID[@]}" || return
	WALK_RES=$(sed -n 's/^Registered resident \([0-9]*\)$/\1/p' "$WALK_LOG/card.register.out")
	[ -n "$WALK_RES" ] || { _w_fail "card.register: no resident number"; return 1; }
	w_show none
	w_do card.new 0 jpki-card new card --issuer-key issuer.key || return
	_w_bg card jpki-card run card --port "$WALK_VPCD_PORT"
	_w_wait_card || return
	w_do card.readers 0 jpki readers || return
	WALK_SIGN_PW=ABC123 WALK_AUTH_PIN=1234
	w_in "$WALK_SIGN_PW" "$WALK_AUTH_PIN"
	w_show notice
	w_do card.issue 0 jpki-office -d ca issue "$WALK_RES" --pin-stdin "${WALK_ID[@]}" || return
	WALK_CARDNO=$(_w_notice_field card.issue 'Card number')
	[ -n "$WALK_CARDNO" ] || { _w_fail "card.issue: no card number in the notice"; return 1; }
	w_do card.card 0 jpki card || return
	w_has card.card '^signature certificate +present' || return
	w_has card.card '^authentication certificate +present' || return
}

# 3. (6) 電子証明書の内容を表示するには: the basic view, dates in eras.
walk_view() {
	w_do view.auth 0 jpki cert show auth || return
	w_has view.auth '^Expires	20[0-9-]+T14:59:59Z \(令和' || return
	w_in "$WALK_SIGN_PW"
	w_do view.sign 0 jpki cert show sign --pin-stdin || return
	w_has view.sign "^Name	$WALK_NAME\$" || return
	w_has view.sign '^Date of birth	昭和52年11月7日' || return
}

# 4. (11) 自己署名証明書が正しいことを確認するには: the CA certificates on the
# card against the fingerprints the Agency publishes.
walk_fingerprint() {
	w_show 12
	w_do fingerprint.ca 0 jpki cert show auth-ca || return
	w_show json
	w_do fingerprint.published 0 curl -sS "$WALK_URL/ca/fingerprints" || return
	w_do fingerprint.check 0 jpki ca fingerprint --url "$WALK_URL/ca/fingerprints" || return
	w_has fingerprint.check '^Signing CA	.*	matches the published fingerprint$' || return
	w_has fingerprint.check '^User-Authentication CA	.*	matches the published fingerprint$' || return
}

# 5. (7) パスワードを変更するには: both, at home; an easily guessed one refused.
walk_pin_change() {
	w_in "$WALK_SIGN_PW" SAKURA38
	w_do pin_change.sign 0 jpki pin change sign --pin-stdin || return
	WALK_SIGN_PW=SAKURA38
	w_in "$WALK_AUTH_PIN" 1107
	w_do pin_change.guessable 30 jpki pin change auth --pin-stdin --dob "$WALK_DOB" || return
	w_in "$WALK_AUTH_PIN" 5927
	w_do pin_change.auth 0 jpki pin change auth --pin-stdin || return
	WALK_AUTH_PIN=5927
	w_do pin_change.status 0 jpki pin status || return
	w_has pin_change.status '^authentication PIN	3 of 3 tries left$' || return
}

# 6. (8) パスワードを忘れてしまったら: three wrong tries lock the authentication
# PIN; the window unlocks it (pin-init --unlock: the tries reset, the PIN
# kept) with photo ID.
walk_pin_init() {
	local i
	for i in 1 2 3; do
		w_in 0000 4826
		# The third wrong try locks it (exit 29).
		w_do "pin_init.wrong$i" $((i < 3 ? 28 : 29)) jpki pin change auth --pin-stdin || return
	done
	w_do pin_init.locked 29 jpki login "$WALK_SVC_URL" --pin-stdin || return
	w_do pin_init.status 0 jpki pin status || return
	w_has pin_init.status '^authentication PIN	locked' || return
	w_show notice
	w_do pin_init.window 0 jpki-office -d ca pin-init "$WALK_RES" auth --unlock "${WALK_ID[@]}" || return
	w_do pin_init.after 0 jpki pin status || return
	w_has pin_init.after '^authentication PIN	3 of 3 tries left$' || return
}

# 7. (9) 電子証明書を利用して電子申請を行うには: the form filled in, signed with
# the card, sent with the signature to the agency's service, which verifies
# the signature, the certificate's chain and its status.
walk_apply() {
	printf '住民票の写しの交付請求書\n氏名: %s\n生年月日: %s\n住所: %s\n請求する通数: 1通\n' \
		"$WALK_NAME" "$WALK_DOB" "$WALK_ADDRESS" >"$WALK_DIR/申請書.txt"
	w_do apply.form 0 cat 申請書.txt || return
	w_in "$WALK_SIGN_PW"
	w_do apply.sign 0 jpki sign 申請書.txt --pin-stdin || return
	w_show json
	w_do apply.send 0 curl -sS -F document=@申請書.txt -F signature=@申請書.txt.p7s \
		"$WALK_SVC_URL/apply" || return
	w_has apply.send '"result":"accepted"' || return
	w_has apply.send "\"name\":\"$WALK_NAME\"" || return
}

# 8. Login: the authentication certificate instead of an ID and password.
walk_login() {
	w_in "$WALK_AUTH_PIN"
	w_do login.ok 0 jpki login "$WALK_SVC_URL" --pin-stdin || return
	w_has login.ok "^logged in to $WALK_SVC_URL\$" || return
}

# 9. (10) 自分の電子証明書の有効性を確認するには: asked of the Agency (OCSP).
walk_validity() {
	w_do validity.auth 0 jpki status || return
	w_has validity.auth '^authentication certificate: good' || return
	w_in "$WALK_SIGN_PW"
	w_do validity.sign 0 jpki status sign --pin-stdin || return
	w_has validity.sign '^signature certificate: good' || return
	w_has validity.sign "checked by OCSP $WALK_URL/ocsp/sign" || return
}

# 10. (4) 個人番号カード紛失の恐れがある場合には: one call to the 24-hour line
# (an operator of the line, on jpkid's online window) puts both on hold.
walk_suspend() {
	w_say "the resident calls the 24-hour line; the operator $WALK_LINE_OPERATOR suspends the card"
	w_show json
	w_do suspend.line 0 curl -sSf -u "$WALK_LINE_OPERATOR:$WALK_LINE_SECRET" \
		-H 'Content-Type: application/json' -d "{\"resident\":\"$WALK_RES\"}" \
		"$WALK_URL/line/suspend" || return
	w_has suspend.line '"held"' || return
	w_wait_rc 5 44 jpki status
	w_do suspend.status 44 jpki status || return
	w_has suspend.status 'ON HOLD' || return
	w_in "$WALK_AUTH_PIN"
	w_do suspend.login 44 jpki login "$WALK_SVC_URL" --pin-stdin || return
}

# 11. The card found: at the window the authentication certificate's hold is
# released; the signature certificate cannot be, so it is revoked and a new
# one issued onto the card (a new key, a new password).
walk_release() {
	w_show notice
	w_do release.window 0 jpki-office -d ca release "$WALK_RES" "${WALK_ID[@]}" || return
	w_in KASUMI21
	w_show notice
	w_do release.reissue 0 jpki-office -d ca reissue "$WALK_RES" sign --pin-stdin "${WALK_ID[@]}" || return
	WALK_SIGN_PW=KASUMI21
	w_wait_rc 5 0 jpki status
	w_do release.auth 0 jpki status || return
	w_has release.auth '^authentication certificate: good' || return
	w_in "$WALK_SIGN_PW"
	w_do release.sign 0 jpki status sign --pin-stdin || return
	w_has release.sign '^signature certificate: good' || return
}

# 12. A move: the window records the new address, which makes the signature
# certificate invalid at once (L6); the authentication certificate stays good.
# A signature certificate with the new address is issued on request.
walk_move() {
	w_show notice
	w_do move.change 0 jpki-office -d ca change "$WALK_RES" --fact address --value "$WALK_NEW_ADDRESS" || return
	w_in "$WALK_SIGN_PW"
	w_wait_rc 5 38 jpki status sign --pin-stdin
	w_in "$WALK_SIGN_PW"
	w_do move.sign 38 jpki status sign --pin-stdin || return
	w_has move.sign 'REVOKED \(affiliationChanged\)' || return
	w_do move.auth 0 jpki status || return
	w_has move.auth '^authentication certificate: good' || return
	w_in NAKANO35
	w_show notice
	w_do move.reissue 0 jpki-office -d ca reissue "$WALK_RES" sign --pin-stdin "${WALK_ID[@]}" || return
	WALK_SIGN_PW=NAKANO35
	w_in "$WALK_SIGN_PW"
	w_show '/^(Name|Address)	/'
	w_do move.show 0 jpki cert show sign --pin-stdin || return
	w_has move.show "^Address	$WALK_NEW_ADDRESS\$" || return
}

# 13. (12) Renewal at the window from 3 months before expiry (L5): refused
# today with the first date it is allowed; then, with the clock moved
# (JPKI_NOW, for every program from here on) to 60 days before the expiry,
# the client warns and the window renews both certificates; jpkid is
# restarted on the moved clock.
walk_renew() {
	local na moved
	w_in 3719
	w_do renew.early 22 jpki-office -d ca renew "$WALK_RES" auth --pin-stdin "${WALK_ID[@]}" || return
	w_quiet renew.pem jpki cert show auth --pem -o auth.pem || return
	na=$(openssl x509 -in "$WALK_DIR/auth.pem" -noout -enddate | sed 's/^notAfter=//')
	moved=$(date -u -d "$na - 60 days" +%Y-%m-%d)T01:00:00Z
	WALK_OFFSET=$(($(date -u -d "$moved" +%s) - $(date +%s)))
	w_say "the clock moved to $moved, 60 days before the expiry"
	w_do renew.warning 0 jpki card || return
	w_has renew.warning 'warning: the authentication certificate expires on .* days left\): renew it' || return
	w_in RENEW31
	w_show notice
	w_do renew.sign 0 jpki-office -d ca renew "$WALK_RES" sign --pin-stdin "${WALK_ID[@]}" || return
	WALK_SIGN_PW=RENEW31
	w_in 3719
	w_show notice
	w_do renew.auth 0 jpki-office -d ca renew "$WALK_RES" auth --pin-stdin "${WALK_ID[@]}" || return
	WALK_AUTH_PIN=3719
	# jpkid's clock starts at its JPKI_NOW and runs on from there; the
	# walkthrough's clock has just jumped years ahead, so jpkid follows it
	# by a restart (after the renewals, so it is on the moved clock).
	walk_stop_one jpkid
	_w_start_jpkid || return
	w_say "jpkid restarted on the moved clock"
	w_do renew.status 0 jpki status || return
	w_has renew.status '^authentication certificate: good' || return
}

# 14. (5) 電子証明書の利用をやめるには: online revocation (オンライン窓口) with the
# client and the card; the Agency accepts it with a reference number.
walk_revoke() {
	w_in "$WALK_SIGN_PW"
	w_do revoke.online 0 jpki revoke --reason voluntary --yes --pin-stdin || return
	w_has revoke.online '[0-9]{8}-[0-9]{6}' || return
	w_wait_rc 5 38 jpki status
	w_do revoke.auth 38 jpki status || return
	w_has revoke.auth 'REVOKED \(cessationOfOperation\)' || return
	w_in "$WALK_SIGN_PW"
	w_do revoke.sign 38 jpki status sign --pin-stdin || return
	w_has revoke.sign 'REVOKED \(cessationOfOperation\)' || return
}
