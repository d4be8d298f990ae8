package nat_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// An agent hands out SNAT ports from blocks it claims in the NSDB. The
// first allocation toward an address must claim a block: it answers "not
// yet" (the simulation would park the packet), and the retry succeeds.
func Example() {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	l := nat.NewLeaser(nat.LeaserConfig{
		Allocator: nat.NewAllocator(db.Blocks(), rand.New(rand.NewPCG(1, 2))),
		Rand:      rand.New(rand.NewPCG(3, 4)),
	})
	defer l.Close()

	router := topology.NameID(topology.KindRouter, "edge")
	public := netip.MustParseAddr("203.0.113.10")
	t, _ := flowstate.NATTargetFrom(topology.NATTarget{AddrStart: public, AddrEnd: public, PortStart: 1024, PortEnd: 65535})
	targets := []flowstate.NATTarget{t}
	dst := flowstate.IPv4{8, 8, 8, 8}

	b, err := l.Allocate(router, dst, 443, targets)
	var notYet *nat.NotYetError
	if errors.As(err, &notYet) {
		fmt.Println("claiming a block first")
		<-notYet.Ready()
		b, err = l.Allocate(router, dst, 443, targets)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	first, last := l.Leased()[0].Ports()
	fmt.Println("translated to", b.IP, "port in block", b.Port >= first && b.Port <= last)
	fmt.Println("blocks leased:", len(l.Leased()), "of", last-first+1, "ports")
	// Output:
	// claiming a block first
	// translated to 203.0.113.10 port in block true
	// blocks leased: 1 of 64 ports
}
