package packet

import (
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestInlining checks, like net/netip's inlining_test.go, that the hot
// accessors stay inlinable: the megaflow tracking must cost a few
// instructions per field read, not a call.
func TestInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler; skipped in -short mode")
	}
	if runtime.Compiler != "gc" {
		t.Skip("inlining is a property of the gc compiler")
	}
	out, err := exec.Command("go", "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m failed: %v\n%s", err, out)
	}
	got := map[string]bool{}
	re := regexp.MustCompile(`: can inline (\S+)`)
	for _, line := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			got[m[1]] = true
		}
	}
	var want []string
	for _, n := range []string{"InPort", "EthSrc", "EthDst", "VLANs", "EtherType", "ARPOp", "ARPSHA", "ARPSPA",
		"ARPTHA", "ARPTPA", "IPSrc", "IPDst", "IPProto", "IPTOS", "IPTTL", "IPFrag", "IPv6FlowLabel",
		"SrcPort", "DstPort", "TCPFlags", "ICMPType", "ICMPCode", "ICMPID", "ICMPData"} {
		want = append(want, "(*Match)."+n, "(*Match).Set"+n, "(*View)."+n)
	}
	want = append(want, "(*Match).Seen", "(*Match).Modified", "(*Match).ClearSeen", "(*Match).Peek",
		"(*Match).Layout", "(*Match).Reset", "(*Match).CopyFrom", "(*Match).NumVLANs", "(*Match).OuterVLAN", "FieldSet.Has", "VLANStack.Len", "VLANStack.Outer",
		"VLAN.TCI", "VLANFromTCI", "update16", "be16")
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s is not inlinable", w)
		}
	}
}
