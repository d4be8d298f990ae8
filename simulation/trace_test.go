package simulation

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Traces are deterministic, readable and survive a JSON round trip; a
// traced simulation decides exactly as an untraced one.
func TestTrace(t *testing.T) {
	in, _ := benchL3(t)
	var a, b, plain Result
	in.Trace = true
	if err := New(Config{}).Simulate(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := New(Config{}).Simulate(in, &b); err != nil {
		t.Fatal(err)
	}
	if a.Trace.String() != b.Trace.String() {
		t.Errorf("traces differ:\n%s\n---\n%s", a.Trace, b.Trace)
	}
	s := a.Trace.String()
	for _, want := range []string{
		"packet: eth 02:00:00:00:00:01 -> 02:aa:00:00:00:01 ipv4 10.0.1.11 -> 10.0.2.12 ttl 64 tcp 40000 -> 443",
		"ingress port vm1: exterior port of bridge br1",
		"filter router rtr: inbound filter: chain pre",
		"rule pre: rule 0: no match",
		"rule pre: rule 9: match, accept",
		"route router rtr: 10.0.1.11 -> 10.0.2.12: 10.0.2.0/24 port via port r-p2",
		"output port vm2: packet leaves the virtual network after eth_src=02:aa:00:00:00:02, eth_dst=02:00:00:00:00:02, ip_ttl=63",
		"verdict: forward, flow normal",
		"tag: bridge-mac:br2,02:00:00:00:00:02,vlan=0,vm2",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("trace lacks %q:\n%s", want, s)
		}
	}
	js, err := json.Marshal(a.Trace)
	if err != nil {
		t.Fatal(err)
	}
	var back Trace
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, a.Trace) {
		t.Errorf("JSON round trip changed the trace")
	}
	in.Trace = false
	if err := New(Config{}).Simulate(in, &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Trace != nil {
		t.Errorf("untraced simulation has a trace")
	}
	if plain.Verdict != a.Verdict || plain.Seen != a.Seen || len(plain.Tags) != len(a.Tags) ||
		plain.Outputs[0].Match != a.Outputs[0].Match {
		t.Errorf("tracing changed the result")
	}
}
