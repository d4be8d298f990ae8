package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// A frame whose ethertype says IPv4 but which carries no IPv4 header has
// no IP fields for rule conditions: a port filter on IP fields does not
// match it (and does not crash).
func TestMalformedIPv4ThroughFilter(t *testing.T) {
	n := l2net(t)
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	n.chain("in", topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop,
		Condition: topology.Condition{NwSrc: topology.Is(prefix("0.0.0.0/0"))}})
	n.port("vm1").InboundFilter = cid("in")
	n.dirty()
	r := n.sim("vm1", garbageTo(mac2, packet.EtherTypeIPv4))
	wantVerdict(t, r, Forward, ReasonNone)
}
