package agent

import (
	"slices"
	"testing"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// flowSetupTags are the tags of a flow between two VMs on one bridge
// through a security group, as BenchmarkFlowSetup's flows carry them.
func flowSetupTags() []simulation.Tag {
	vm1, vm2 := topology.NameID(topology.KindPort, "vm1"), topology.NameID(topology.KindPort, "vm2")
	br, acl := topology.NameID(topology.KindBridge, "net"), topology.NameID(topology.KindChain, "acl")
	m1, m2 := topology.MAC{2, 0, 0, 0, 0, 1}, topology.MAC{2, 0, 0, 0, 0, 2}
	return []simulation.Tag{
		simulation.TagDevice(vm1), simulation.TagPortRx(vm1), simulation.TagDevice(br),
		simulation.TagBridgeMAC(br, m1, 0, vm1), simulation.TagBridgeMAC(br, m2, 0, vm2),
		simulation.TagDevice(vm2), simulation.TagPortTx(vm2), simulation.TagDevice(acl),
		simulation.TagDevice(br), // a repeat
	}
}

func TestIndexedTags(t *testing.T) {
	in := flowSetupTags()
	got := indexedTags(slices.Clone(in))
	var want []simulation.Tag
	for _, tag := range in {
		if tag.Kind() != simulation.TagKindPortRx && !slices.Contains(want, tag) {
			want = append(want, tag)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("indexedTags = %v, want %v", got, want)
	}
	// Tags equal but for one field are both kept.
	vm1 := topology.NameID(topology.KindPort, "vm1")
	br := topology.NameID(topology.KindBridge, "net")
	a := simulation.TagBridgeMAC(br, topology.MAC{2, 0, 0, 0, 0, 1}, 0, vm1)
	b := simulation.TagBridgeMAC(br, topology.MAC{2, 0, 0, 0, 0, 1}, 1, vm1)
	if got := indexedTags([]simulation.Tag{a, b, a}); !slices.Equal(got, []simulation.Tag{a, b}) {
		t.Fatalf("indexedTags(a, b, a) = %v", got)
	}
}

func BenchmarkIndexedTags(b *testing.B) {
	in := flowSetupTags()
	buf := make([]simulation.Tag, len(in))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		if len(indexedTags(buf)) != 7 {
			b.Fatal("wrong count")
		}
	}
}
