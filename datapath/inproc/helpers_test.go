package inproc

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

var (
	macA = topology.MustParseMAC("02:00:00:00:00:0a")
	macB = topology.MustParseMAC("02:00:00:00:00:0b")
	macC = topology.MustParseMAC("02:00:00:00:00:0c")
	ipA  = netip.MustParseAddr("10.0.0.1")
	ipB  = netip.MustParseAddr("10.0.1.20")
	ipC  = netip.MustParseAddr("192.0.2.7")
	ip6A = netip.MustParseAddr("2001:db8::1")
	ip6B = netip.MustParseAddr("2001:db8:1::beef")
)

func hw(m topology.MAC) net.HardwareAddr { return net.HardwareAddr(m[:]) }
func nip(a netip.Addr) net.IP            { return net.IP(a.AsSlice()) }

// serialize builds a frame with gopacket (an independent implementation),
// fixing lengths and computing checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ethL(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: hw(macA), DstMAC: hw(macB), EthernetType: et}
}

func ip4L(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TOS: 0x28, TTL: 61, Id: 0x1234, Protocol: proto, SrcIP: nip(ipA), DstIP: nip(ipB)}
}

func ip6L(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, TrafficClass: 0x28, FlowLabel: 0x12345, HopLimit: 61, NextHeader: next, SrcIP: nip(ip6A), DstIP: nip(ip6B)}
}

func tcpL(ip gopacket.NetworkLayer) *layers.TCP {
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, SYN: true, ACK: true, Window: 1024}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	return tcp
}

func udpL(ip gopacket.NetworkLayer) *layers.UDP {
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	return udp
}

func tcpFrame(t testing.TB) []byte {
	ip := ip4L(layers.IPProtocolTCP)
	return serialize(t, ethL(layers.EthernetTypeIPv4), ip, tcpL(ip), gopacket.Payload("hello, datapath"))
}

func udpFrame(t testing.TB) []byte {
	ip := ip4L(layers.IPProtocolUDP)
	return serialize(t, ethL(layers.EthernetTypeIPv4), ip, udpL(ip), gopacket.Payload("dns?"))
}

func tcp6Frame(t testing.TB) []byte {
	ip := ip6L(layers.IPProtocolTCP)
	return serialize(t, ethL(layers.EthernetTypeIPv6), ip, tcpL(ip), gopacket.Payload("v6"))
}

// reserialize decodes frame with gopacket and serializes it again with
// fresh lengths and checksums: a frame with correct checksums comes back
// byte for byte.
func reserialize(t testing.TB, frame []byte) []byte {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", frame, el.Error())
	}
	var ls []gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			nl = l
		case *layers.IPv6:
			nl = l
		case *layers.TCP:
			_ = l.SetNetworkLayerForChecksum(nl)
		case *layers.UDP:
			_ = l.SetNetworkLayerForChecksum(nl)
		case *layers.ICMPv6:
			_ = l.SetNetworkLayerForChecksum(nl)
		}
		if s, ok := l.(gopacket.SerializableLayer); ok {
			ls = append(ls, s)
		} else {
			ls = append(ls, gopacket.Payload(l.LayerContents()))
		}
	}
	return serialize(t, ls...)
}

// checksumsOK fails the test unless every checksum of frame is correct.
func checksumsOK(t testing.TB, frame []byte) {
	t.Helper()
	if got := reserialize(t, frame); string(got) != string(frame) {
		t.Errorf("checksums or lengths wrong:\n got  %x\n want %x", frame, got)
	}
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Duration  { return time.Duration(c.ns.Load()) }
func (c *fakeClock) set(d time.Duration) { c.ns.Store(int64(d)) }

func newDP(t testing.TB, cfg Config) *Datapath {
	t.Helper()
	d := New(cfg)
	t.Cleanup(func() { d.Close() })
	return d
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// addPort creates an in-memory port and returns its endpoint.
func addPort(t testing.TB, d *Datapath, name string, pids ...uint32) *Endpoint {
	t.Helper()
	p, err := d.CreatePort(ctxT(t), datapath.PortSpec{Name: name, Type: datapath.PortNetdev, UpcallPIDs: pids})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := d.Endpoint(p.Number)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// receiveOne returns the next frame output to ep, failing after a second.
func receiveOne(t testing.TB, ep *Endpoint) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f, err := ep.Receive(ctx)
	if err != nil {
		t.Fatalf("%v: no frame: %v", ep, err)
	}
	return f
}

// keyOf is the key the datapath extracts for frame received on port in.
func keyOf(frame []byte, in datapath.PortNumber) datapath.FlowKey {
	var k datapath.FlowKey
	receiveKey(frame, in, nil, &k)
	return k
}

// l4Mask is a megaflow mask: in_port, ethertype, IPv4 dst and proto, TCP dst.
func l4Mask() datapath.FlowKey {
	return datapath.FlowKey{
		Fields:    datapath.KeyInPort | datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyTCP,
		InPort:    ^datapath.PortNumber(0),
		EtherType: 0xffff,
		IPv4:      datapath.IPv4Key{Dst: netip.MustParseAddr("255.255.255.255"), Proto: 0xff},
		TCP:       datapath.TCPKey{Dst: 0xffff},
	}
}
