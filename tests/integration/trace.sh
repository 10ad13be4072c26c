# Tracing end to end on real KVM: a guest with a known exit pattern (exitloop: 100000 writes to
# port 0x510, 20000 MMIO writes to 0xd0000000) traced to a file at exit; the report's counts must
# be exact. Also the live side: --get-stats --json, --trace-dump, --disas, and the oops report.
source "$(dirname "$0")/../kvm_lib.sh" "$1"
require_kvm
command -v python3 >/dev/null || fail "python3 is needed to check JSON"
out=$TMP/out err=$TMP/err
REPORT=$BUILD/cli/dhyve-report

run_dhyve $out $err -l com1,stdio -o trace.entries=262144 -o trace.file=$TMP/exitloop.trace -o kernel=$GUESTS/exitloop.elf vm0
expect_status 1 "exitloop traced"
[ -s $TMP/exitloop.trace ] || fail "no trace file written"
"$REPORT" --format=json --decode --top=0 $TMP/exitloop.trace >$TMP/report.json || fail "dhyve-report failed"
python3 - $TMP/report.json <<'PY' || fail "exact exit counts in the report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["lost"] == 0, r["lost"]
ports = {(p["port"], p["direction"]): p["count"] for p in r["ports"]}
assert ports[(0x510, "out")] == 100000, ports
mmio = {m["address"]: m for m in r["mmio"]}
assert mmio["0xd0000000"]["count"] == 20000 and mmio["0xd0000000"]["writes"] == 20000, mmio
kinds = {k["kind"]: k["count"] for k in r["kinds"]}
assert kinds["mmio"] == 20000, kinds
texts = " ".join(i["text"] for i in r["instructions"])
assert "dword ptr" in texts, texts   # the movl to 0xd0000000, decoded at its RIP
print("ok: exact counts: 100000 port 0x510 writes, 20000 MMIO writes, instructions decoded")
PY
pass "trace file at exit: exact counts"

# Rings smaller than the run: overwrite-oldest, with the loss counted.
run_dhyve $out $err -l com1,stdio -o trace.entries=1024 -o trace.file=$TMP/small.trace -o kernel=$GUESTS/exitloop.elf vm0
"$REPORT" --format=json $TMP/small.trace >$TMP/small.json || fail "dhyve-report failed"
python3 -c "
import json, sys
r = json.load(open('$TMP/small.json'))
assert r['records'] == 1024, r['records']
assert r['lost'] >= 120000 - 1024, r['lost']
" || fail "small ring: 1024 records kept, the rest counted lost"
pass "small ring keeps the newest 1024 records and counts the rest as lost"

# A truncated trace file is refused with the offset.
head -c 1000 $TMP/small.trace >$TMP/cut.trace
"$REPORT" $TMP/cut.trace >$out 2>$err && fail "a truncated trace was accepted"
expect_grep "truncated" $err
pass "truncated trace refused: $(head -1 $err)"

# Live: stats as JSON, a dump on request, decoded instructions of a running vCPU.
timeout 60 "$DHYVE" -c 2 -m 64M -l com1,stdio -o trace.entries=4096 -o kernel=$GUESTS/spin.elf tvm </dev/null >$TMP/tvm.out 2>$TMP/tvm.err &
vm_pid=$!
PIDS+=($vm_pid)
wait_for_text $TMP/tvm.out "spin: ready"
"$DHYVECTL" --vm=tvm --get-stats --json >$out || fail "--get-stats --json"
python3 -c "
import json
r = json.load(open('$out'))
pio = r['total']['by_reason']['pio']
assert pio['count'] > 0 and pio['min_us'] <= pio['p50_us'] <= pio['p99_us'] <= pio['max_us'], pio
assert len(r['vcpus']) == 2
assert r['vcpus'][0]['kvm']['exits'] >= r['vcpus'][0]['user_exits'], r['vcpus'][0]
" || fail "--get-stats --json: $(head -c 400 $out)"
pass "--get-stats --json: valid, percentiles ordered, KVM's exit count >= user-space exits"
(cd $TMP && "$DHYVECTL" --vm=tvm --trace-dump=live.trace >$out 2>$err) || fail "--trace-dump: $(cat $err)"
"$REPORT" $TMP/live.trace >$out || fail "report of the live dump"
expect_grep "pio" $out
pass "--trace-dump with a relative path writes a readable trace"
"$DHYVECTL" --vm=tvm --disas --vcpu=0 --count=3 >$out || fail "--disas"
expect_grep "=> 0x0000000000100" $out
expect_grep "Code:" $out
"$DHYVECTL" --vm=tvm --disas --vcpu=7 >$out 2>&1 && fail "--disas of a missing vCPU succeeded"
expect_grep "no vCPU 7" $out
"$DHYVECTL" --vm=tvm --destroy >/dev/null
wait $vm_pid
pass "--disas decodes at the vCPU's RIP"

# A VM without rings says so.
timeout 60 "$DHYVE" -m 64M -l com1,stdio -o kernel=$GUESTS/spin.elf nvm </dev/null >$TMP/nvm.out 2>$TMP/nvm.err &
vm_pid=$!
PIDS+=($vm_pid)
wait_for_text $TMP/nvm.out "spin: ready"
"$DHYVECTL" --vm=nvm --trace-dump=$TMP/x.trace >$out 2>&1 && fail "--trace-dump without rings succeeded"
expect_grep "tracing is off" $out
"$DHYVECTL" --vm=nvm --destroy >/dev/null
wait $vm_pid
pass "--trace-dump on a VM without rings is refused"

# The oops report of a dying guest: registers, Code: line, the decoded faulting instruction,
# the last exits.
run_dhyve $out $err -l com1,stdio -o trace.entries=64 -o kernel=$GUESTS/triplefault.elf vm0
expect_status 3 "triplefault"
expect_grep "RIP: 0008:" $err
expect_grep "Code:" $err
grep -q '^=> 0x[0-9a-f]*: 0f 0b .*ud2' $err || fail "faulting ud2 not decoded: $(cat $err)"
expect_grep "Last exits of vCPU 0" $err
pass "oops report on a triple fault decodes the faulting ud2"
