package datapath_test

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
)

// A megaflow matching any TCP packet to 10.0.1.0/24 port 443, whatever its
// source, and the test whether two packets fall into it.
func ExampleMatch() {
	key := datapath.FlowKey{
		Fields:    datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyTCP,
		EtherType: 0x0800,
		IPv4:      datapath.IPv4Key{Dst: netip.MustParseAddr("10.0.1.0"), Proto: 6},
		TCP:       datapath.TCPKey{Dst: 443},
	}
	mask := datapath.FlowKey{
		Fields:    key.Fields,
		EtherType: 0xffff,
		IPv4:      datapath.IPv4Key{Dst: netip.MustParseAddr("255.255.255.0"), Proto: 0xff},
		TCP:       datapath.TCPKey{Dst: 0xffff},
	}
	mf := datapath.Match{Key: key, Mask: mask}

	pkt := datapath.FlowKey{
		Fields:    datapath.KeyInPort | datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyTCP,
		InPort:    3,
		EtherType: 0x0800,
		IPv4:      datapath.IPv4Key{Src: netip.MustParseAddr("192.0.2.7"), Dst: netip.MustParseAddr("10.0.1.20"), Proto: 6, TTL: 64},
		TCP:       datapath.TCPKey{Src: 51000, Dst: 443},
	}
	fmt.Println(mf.Matches(&pkt))
	pkt.TCP.Dst = 80
	fmt.Println(mf.Matches(&pkt))
	// Output:
	// true
	// false
}
