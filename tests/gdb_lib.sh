# Helpers for tests/integration/gdb_*.sh: a VM with the gdb stub on a free port, the real gdb in
# batch mode against it, and the raw protocol client gdb_rsp.py.
# Usage (after kvm_lib.sh): source "$(dirname "$0")/../gdb_lib.sh"
RSP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/integration/gdb_rsp.py

require_gdb() {
	command -v gdb >/dev/null || { echo "SKIPPED: gdb is not installed"; exit 77; }
	command -v python3 >/dev/null || { echo "SKIPPED: python3 is not installed"; exit 77; }
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_vm NAME KERNEL NCPUS [w]: dhyve with -G [w]PORT in the background, console to
# $TMP/NAME.con; sets $port and $vm_pid once the stub listens.
start_vm() {
	local name=$1 kernel=$2 ncpus=$3 wait=${4:-}
	port=$(free_port)
	timeout 120 "$DHYVE" -c "$ncpus" -m 64M -l com1,file=$TMP/$name.con -G "$wait$port" -o kernel="$kernel" "$name" \
		</dev/null >$TMP/$name.out 2>$TMP/$name.err &
	vm_pid=$!
	PIDS+=($vm_pid)
	wait_for_text $TMP/$name.err "gdb stub listening on 127.0.0.1:$port"
	# The cleanup's kill -9 of timeout would leave dhyve itself running: kill that too.
	PIDS+=($(pgrep -P $vm_pid))
}

# run_gdb ELF OUT COMMANDS...: gdb -batch connected to $port; each argument is one command.
run_gdb() {
	local elf=$1 out=$2
	shift 2
	local args=(-batch -nx -ex "set pagination off" -ex "set confirm off" -ex "target remote 127.0.0.1:$port")
	local c
	for c in "$@"; do args+=(-ex "$c"); done
	timeout 60 gdb "${args[@]}" $elf >$out 2>&1 || true
}

# sym ELF NAME: the symbol's address, 0x-prefixed.
sym() {
	local a
	a=$(nm "$1" | awk -v n="$2" '$3 == n { print $1 }')
	[ -n "$a" ] || fail "no symbol $2 in $1"
	printf '0x%x\n' "$((16#$a))"
}

# end_vm NAME STATUS: dhyvectl --destroy, then the exit status must be STATUS.
end_vm() {
	"$DHYVECTL" --vm="$1" --destroy >/dev/null 2>&1 || true
	status=0
	wait $vm_pid || status=$?
	[ "$status" = "$2" ] || fail "$1 ended with status $status, expected $2: $(cat $TMP/$1.err)"
}

# count_lines FILE TEXT: how many lines of FILE contain TEXT.
count_lines() { grep -cF -- "$2" "$1" 2>/dev/null || true; }
