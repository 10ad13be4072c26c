# Shared helpers for tests/integration/*.sh: paths, the KVM check, assertions.
# Usage: source "$(dirname "$0")/../kvm_lib.sh" "$BUILD_DIR"
BUILD=$(cd "${1:?usage: test.sh BUILD_DIR}" && pwd)
DHYVE=$BUILD/cli/dhyve
DHYVECTL=$BUILD/cli/dhyvectl
GUESTS=$BUILD/guests
TMP=$(mktemp -d /tmp/dhyve-test.XXXXXX)
export DHYVE_RUNDIR=$TMP/run
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# Tests that need /dev/kvm skip (exit 77) where it is missing, unless DHYVE_REQUIRE_KVM=1 (CI).
require_kvm() {
	local why=""
	if [ ! -e /dev/kvm ]; then why="/dev/kvm does not exist"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then why="/dev/kvm is not readable and writable by $(id -un)"
	fi
	[ -z "$why" ] && return 0
	if [ "${DHYVE_REQUIRE_KVM:-0}" = 1 ]; then fail "KVM required (DHYVE_REQUIRE_KVM=1) but $why"; fi
	echo "SKIPPED: $why"
	exit 77
}

# run_dhyve OUT ERR ARGS...: runs dhyve with stdin from /dev/null and a 60 s limit; sets $status.
run_dhyve() {
	local out=$1 err=$2
	shift 2
	status=0
	timeout 60 "$DHYVE" "$@" </dev/null >"$out" 2>"$err" || status=$?
	[ "$status" = 124 ] && fail "dhyve $* did not end within 60 s"
	return 0
}

expect_status() { [ "$status" = "$1" ] || fail "$2: exit status $status, expected $1 (stderr: $(cat "$TMP/err" 2>/dev/null))"; }
expect_grep() { grep -qF -- "$1" "$2" || fail "'$1' not found in $2: $(cat "$2")"; }

# wait_for_file_text FILE TEXT [SECONDS]
wait_for_text() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "'$2' did not appear in $1 within ${3:-20} s: $(cat "$1" 2>/dev/null)"
}
