package nat_test

import (
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/topology"
)

func TestParseScope(t *testing.T) {
	dev := topology.NameID(topology.KindRouter, "r1")
	ip := flowstate.IPv4{198, 51, 100, 2}
	s := nat.Scope(dev, ip)
	if d, a, ok := nat.ParseScope(s); !ok || d != dev || a != ip {
		t.Errorf("ParseScope(%q) = %v %v %v", s, d, a, ok)
	}
	for _, bad := range []string{"", "nat", "nat/" + dev.String(), "other/" + dev.String() + "/198.51.100.2",
		"nat/x/198.51.100.2", "nat/" + dev.String() + "/fe80::1", "nat/" + dev.String() + "/1.2.3"} {
		if _, _, ok := nat.ParseScope(bad); ok {
			t.Errorf("ParseScope(%q) succeeded", bad)
		}
	}
}
