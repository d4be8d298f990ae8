package datapath

import (
	"testing"
	"time"
)

func TestAppendTCPFlags(t *testing.T) {
	for _, c := range []struct {
		flags uint16
		want  string
	}{
		{0x002, "S"}, {0x012, "S."}, {0x018, "P."}, {0x011, "F."}, {0x014, "R."},
		{0x1ff, "SFPRU.ECN"}, {0x202, "S[200]"}, {0xc00, "[400][800]"},
	} {
		if got := string(AppendTCPFlags(nil, c.flags)); got != c.want {
			t.Errorf("AppendTCPFlags(%#x) = %q, want %q", c.flags, got, c.want)
		}
	}
}

// Format prints what ovs-dpctl dump-flows prints: the match, the
// statistics, the age since the last hit (or never), the TCP flags when
// any, then the actions.
func TestFlowFormat(t *testing.T) {
	f := Flow{
		Match:   Match{Key: FlowKey{Fields: KeyInPort, InPort: 3}, Mask: FlowKey{Fields: KeyInPort, InPort: ^PortNumber(0)}},
		Actions: Actions{Output{Port: 2}},
		Stats:   FlowStats{Packets: 7, Bytes: 512},
	}
	if got, want := f.Format(10*time.Second), "in_port(3), packets:7, bytes:512, used:never, actions:2"; got != want {
		t.Errorf("never used:\n got %s\nwant %s", got, want)
	}
	f.Used, f.TCPFlags = 9580*time.Millisecond, 0x12
	if got, want := f.Format(10*time.Second), "in_port(3), packets:7, bytes:512, used:0.420s, flags:S., actions:2"; got != want {
		t.Errorf("used:\n got %s\nwant %s", got, want)
	}
	f.Actions = nil
	if got, want := f.Format(f.Used), "in_port(3), packets:7, bytes:512, used:0.000s, flags:S., actions:drop"; got != want {
		t.Errorf("drop:\n got %s\nwant %s", got, want)
	}
}

// Actions print as ovs-dpctl prints them: check_pkt_len with its two
// branches (an empty one as drop), userspace without a cookie with only
// the attributes present.
func TestActionsStringAsDpctl(t *testing.T) {
	for _, c := range []struct {
		acts Actions
		want string
	}{
		{Actions{CheckPktLen{PktLen: 1414, Greater: Actions{Userspace{PID: 7}}, LessEqual: Actions{Output{Port: 2}}}},
			"check_pkt_len(size=1414,gt(userspace(pid=7)),le(2))"},
		{Actions{CheckPktLen{PktLen: 60, Greater: Actions{}, LessEqual: Actions{Output{Port: 1}, Output{Port: 2}}}, Output{Port: 3}},
			"check_pkt_len(size=60,gt(drop),le(1,2)),3"},
		{Actions{Userspace{PID: 42, Userdata: []byte{1, 2, 3, 4}}}, "userspace(pid=42,userdata(01020304))"},
		{Actions{Userspace{PID: 1, WithActions: true, EgressTunnelPort: 5}}, "userspace(pid=1,actions,tunnel_out_port=5)"},
	} {
		if got := c.acts.String(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
