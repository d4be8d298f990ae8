package dhcp_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/topology"
)

var (
	bridgeID = topology.NameID(topology.KindBridge, "net1")
	vmMAC    = topology.MustParseMAC("fa:16:3e:00:00:11")
	otherMAC = topology.MustParseMAC("fa:16:3e:00:00:99")
	offMAC   = topology.MustParseMAC("fa:16:3e:00:00:22")
	server   = netip.MustParseAddr("10.0.1.2")
	vmAddr   = netip.MustParseAddr("10.0.1.11")
)

// testTable is a bridge with one enabled subnet (two hosts) and one
// disabled subnet (offMAC).
func testTable(t testing.TB, mtu uint16) *dhcp.Table {
	t.Helper()
	topo := &topology.Topology{
		Bridges: []topology.Bridge{{ID: bridgeID, Name: "net1"}},
		DHCPSubnets: []topology.DHCPSubnet{{
			ID: topology.NameID(topology.KindDHCPSubnet, "s1"), Bridge: bridgeID,
			Subnet:     netip.MustParsePrefix("10.0.1.0/24"),
			ServerAddr: server, Gateway: netip.MustParseAddr("10.0.1.1"),
			DNSServers: []netip.Addr{netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("9.9.9.9")},
			MTU:        mtu,
			Routes: []topology.DHCPRoute{
				{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: netip.MustParseAddr("10.0.1.2")},
				{Dst: netip.MustParsePrefix("172.16.0.0/12"), Gateway: netip.MustParseAddr("10.0.1.3")},
			},
			Hosts: []topology.DHCPHost{
				{MAC: vmMAC, Addr: vmAddr, Name: "vm1",
					Options: []topology.DHCPOption{{Code: 15, Value: []byte("example.test")}}},
				{MAC: topology.MustParseMAC("fa:16:3e:00:00:12"), Addr: netip.MustParseAddr("10.0.1.12")},
			},
		}, {
			ID: topology.NameID(topology.KindDHCPSubnet, "s2"), Bridge: bridgeID, Disabled: true,
			Subnet: netip.MustParsePrefix("10.0.2.0/24"),
			Hosts:  []topology.DHCPHost{{MAC: offMAC, Addr: netip.MustParseAddr("10.0.2.22")}},
		}},
	}
	return dhcp.NewTable(topology.NewSnapshot(topo))
}

// decoded is a reply as gopacket decodes it: an independent check of the
// codec.
type decoded struct {
	eth  *layers.Ethernet
	ip   *layers.IPv4
	udp  *layers.UDP
	dhcp *layers.DHCPv4
	opts map[layers.DHCPOpt][]byte
}

func decode(t *testing.T, frame []byte) decoded {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode the reply: %v", el.Error())
	}
	var d decoded
	var ok bool
	if d.eth, ok = p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); !ok {
		t.Fatal("no Ethernet layer")
	}
	if d.ip, ok = p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); !ok {
		t.Fatal("no IPv4 layer")
	}
	if d.udp, ok = p.Layer(layers.LayerTypeUDP).(*layers.UDP); !ok {
		t.Fatal("no UDP layer")
	}
	if d.dhcp, ok = p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); !ok {
		t.Fatal("no DHCPv4 layer")
	}
	d.opts = map[layers.DHCPOpt][]byte{}
	for _, o := range d.dhcp.Options {
		d.opts[o.Type] = append(d.opts[o.Type], o.Data...)
	}
	// Checksums, recomputed independently.
	hdr := frame[14 : 14+20]
	if cs := checksum(hdr); cs != 0 {
		t.Errorf("IPv4 header checksum does not verify (%#04x)", cs)
	}
	udp := frame[14+20 : 14+int(d.ip.Length)]
	pseudo := append(append([]byte{}, hdr[12:20]...), 0, 17, byte(len(udp)>>8), byte(len(udp)))
	if cs := checksum(append(pseudo, udp...)); cs != 0 {
		t.Errorf("UDP checksum does not verify (%#04x)", cs)
	}
	return d
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func discover(mac topology.MAC) []byte {
	return dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Discover, MAC: mac, XID: 0x1234abcd})
}
