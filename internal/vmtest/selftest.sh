#!/bin/bash
# selftest.sh - check vm-exec.sh's contract with go test end to end.
#
# Usage: internal/vmtest/selftest.sh
#
# Builds a scratch Go module in a temporary directory (outside the
# repository) and runs its tests through vm-exec.sh, checking: exit statuses
# 0, 1 (failed test) and 7 (os.Exit) come back exactly; output streams
# intact; testdata, VMTEST=1 and HIVENET_* reach the guest; -coverprofile
# works; two packages run as two concurrent VMs; VM_NET=user reaches a
# listener on the host's loopback; VM_TIMEOUT yields 254. Takes ~30-60 s.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exe=$here/vm-exec.sh
"$here/build.sh" || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hivenet-vmselftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # description, condition...
	local what=$1
	shift
	if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; fails=$((fails + 1)); fi
}

mkdir -p "$tmp/m/a/testdata" "$tmp/m/b" "$tmp/m/listen"
cd "$tmp/m" || exit 1
printf 'module example.com/selftest\n\ngo 1.22\n' >go.mod
echo "fixture" >a/testdata/f.txt
cat >a/a.go <<'EOF'
package a

// Double doubles n unless it is negative.
func Double(n int) int {
	if n < 0 {
		return 0
	}
	return 2 * n
}
EOF
cp a/a.go b/b.go && sed -i 's/^package a/package b/' b/b.go
cat >a/a_test.go <<'EOF'
package a

import (
	"net"
	"os"
	"strconv"
	"testing"
)

func TestEnv(t *testing.T) {
	b, err := os.ReadFile("testdata/f.txt")
	if err != nil || string(b) != "fixture\n" {
		t.Fatalf("testdata: %q, %v", b, err)
	}
	if os.Getenv("VMTEST") != "1" || os.Getenv("HIVENET_SELFTEST") != "x y" {
		t.Fatalf("env VMTEST=%q HIVENET_SELFTEST=%q", os.Getenv("VMTEST"), os.Getenv("HIVENET_SELFTEST"))
	}
	if Double(2) != 4 {
		t.Fatal("Double")
	}
	t.Log("selftest-marker")
}

func TestKnobs(t *testing.T) {
	if s := os.Getenv("HIVENET_SELFTEST_EXIT"); s != "" {
		n, _ := strconv.Atoi(s)
		os.Exit(n)
	}
	if os.Getenv("HIVENET_SELFTEST_FAIL") == "1" {
		t.Fatal("failure requested by HIVENET_SELFTEST_FAIL")
	}
	if addr := os.Getenv("HIVENET_SELFTEST_DIAL"); addr != "" {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}
EOF
cat >b/b_test.go <<'EOF'
package b

import "testing"

func TestB(t *testing.T) {
	if Double(3) != 6 {
		t.Fatal("Double")
	}
}
EOF
cat >listen/main.go <<'EOF'
// Command listen accepts one TCP connection on 127.0.0.1 and exits 0.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(2)
	}
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	c, err := l.Accept()
	if err != nil {
		os.Exit(3)
	}
	c.Close()
}
EOF

export CGO_ENABLED=0 HIVENET_SELFTEST="x y" GOFLAGS=-count=1
t0=$EPOCHREALTIME
out=$(go test -v -exec "$exe" -coverprofile="$tmp/cover.out" ./a ./b 2>&1)
rc=$?
echo "  (two packages, -cover: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s)"
check "pass: exit status 0" test $rc -eq 0
check "pass: output streamed" grep -q 'selftest-marker' <<<"$out"
check "pass: both packages ok" test "$(grep -c '^ok' <<<"$out")" -eq 2
check "coverage profile written" grep -q 'a/a.go:' "$tmp/cover.out"
((rc == 0)) || printf '%s\n' "$out" | tail -n 30

out=$(HIVENET_SELFTEST_FAIL=1 go test -exec "$exe" -run TestKnobs ./a 2>&1)
rc=$?
check "failing test: go test exits 1" test $rc -eq 1
check "failing test: failure reported" grep -q 'failure requested' <<<"$out"

go test -c -o "$tmp/a.test" ./a || exit 1
(cd a && HIVENET_SELFTEST_EXIT=7 "$exe" "$tmp/a.test" -test.run TestKnobs >/dev/null 2>&1)
check "os.Exit(7): status 7" test $? -eq 7
(cd a && "$exe" "$tmp/a.test" -test.run TestKnobs >/dev/null 2>&1)
check "direct run: status 0" test $? -eq 0

go build -o "$tmp/listen.bin" ./listen || exit 1
"$tmp/listen.bin" >"$tmp/port" &
lpid=$!
for _ in $(seq 50); do [[ -s $tmp/port ]] && break; sleep 0.1; done
read -r port <"$tmp/port"
(cd a && VM_NET=user HIVENET_SELFTEST_DIAL="10.0.2.2:$port" "$exe" "$tmp/a.test" -test.run TestKnobs >/dev/null 2>&1)
rc=$?
kill "$lpid" 2>/dev/null
wait "$lpid"
lrc=$?
check "VM_NET=user: guest reached host loopback" test $rc -eq 0 -a $lrc -eq 0

(cd a && VM_TIMEOUT=1 "$exe" "$tmp/a.test" >/dev/null 2>&1)
check "VM_TIMEOUT: status 254" test $? -eq 254

if ((fails)); then
	echo "vmtest selftest: $fails check(s) failed"
	exit 1
fi
echo "vmtest selftest: all checks passed"
