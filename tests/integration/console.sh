# The UART's input path end to end: bytes from stdin, a pty and a unix socket reach the guest
# (echo.elf upper-cases them) and its output comes back.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
out=$TMP/out err=$TMP/err

# stdin (not a tty): the guest reads "hello q" and ends on 'q'.
status=0
printf 'hello q' | timeout 60 "$DHYVE" -l com1,stdio -o kernel=$GUESTS/echo.elf echovm >$out 2>$err || status=$?
expect_status 1 "echo over stdio"
expect_grep "echo: ready" $out
expect_grep "HELLO " $out
expect_grep "echo: bye" $out
pass "stdio input reaches the guest"

# pty: dhyve prints the pty's path; we talk to it like a terminal would.
timeout 60 "$DHYVE" -l com1,pty -o kernel=$GUESTS/echo.elf echovm </dev/null >$out 2>$err &
PIDS+=($!)
vm_pid=$!
wait_for_text $err "/dev/pts/"
pts=$(grep -o '/dev/pts/[0-9]*' $err | head -1)
exec 3<>"$pts"
stty -F "$pts" raw -echo
cat <&3 >$TMP/pty.out 2>/dev/null &
PIDS+=($!)
wait_for_text $TMP/pty.out "echo: ready"
printf 'abc' >&3
wait_for_text $TMP/pty.out "ABC"
printf 'q' >&3
status=0
wait $vm_pid || status=$?
exec 3>&-
expect_status 1 "echo over a pty"
wait_for_text $TMP/pty.out "echo: bye"
pass "pty back-end ($pts) in both directions"

# unix socket back-end: a client connects and types.
sockpath=$TMP/com1.sock
timeout 60 "$DHYVE" -l com1,unix=$sockpath -o kernel=$GUESTS/echo.elf echovm </dev/null >$out 2>$err &
vm_pid=$!
PIDS+=($vm_pid)
for ((i = 0; i < 100; i++)); do [ -S $sockpath ] && break; sleep 0.1; done
[ -S $sockpath ] || fail "no console socket at $sockpath"
[ "$(stat -c %a $sockpath)" = 600 ] || fail "console socket mode $(stat -c %a $sockpath)"
python3 - "$sockpath" >$TMP/sock.out <<'PY' || fail "socket client failed"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(20)
time.sleep(0.3)
s.sendall(b"xyz")
got = b""
deadline = time.time() + 20
while b"XYZ" not in got and time.time() < deadline:
    got += s.recv(100)
s.sendall(b"q")
while b"bye" not in got and time.time() < deadline:
    chunk = s.recv(100)
    if not chunk:
        break
    got += chunk
sys.stdout.write(got.decode(errors="replace"))
PY
status=0
wait $vm_pid || status=$?
expect_status 1 "echo over a unix socket"
expect_grep "XYZ" $TMP/sock.out
pass "unix socket back-end (0600) in both directions"
