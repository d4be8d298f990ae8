package datapath

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

func TestErrnoMatchesSentinels(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		is    []error
		isNot []error
	}{
		{syscall.ENOENT, []error{ErrNotFound, os.ErrNotExist, syscall.ENOENT}, []error{ErrExists, ErrInvalid}},
		{syscall.ENODEV, []error{ErrNotFound, os.ErrNotExist}, []error{ErrExists}},
		{syscall.EEXIST, []error{ErrExists, os.ErrExist}, []error{ErrNotFound, os.ErrNotExist}},
		{syscall.EBUSY, []error{ErrExists}, nil},
		{syscall.EINVAL, []error{ErrInvalid}, []error{ErrNotFound}},
		{syscall.EOPNOTSUPP, []error{ErrNotSupported}, []error{ErrInvalid}},
		{syscall.EPERM, []error{os.ErrPermission}, []error{ErrNotFound, ErrExists, ErrInvalid, ErrNotSupported}},
	} {
		err := error(&OpError{Op: "flow new", Err: Errno{tc.errno}})
		for _, target := range tc.is {
			if !errors.Is(err, target) {
				t.Errorf("%v does not match %v", err, target)
			}
		}
		for _, target := range tc.isNot {
			if errors.Is(err, target) {
				t.Errorf("%v matches %v", err, target)
			}
		}
	}
	err := fmt.Errorf("wrapped: %w", &OpError{Op: "vport get", Err: Errno{syscall.ENODEV}})
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "vport get" {
		t.Fatalf("errors.As: %v", err)
	}
	if got := oe.Error(); got != "datapath: vport get: "+syscall.ENODEV.Error() {
		t.Errorf("message %q", got)
	}
}

func TestBatchError(t *testing.T) {
	be := &BatchError{Errs: []IndexError{{Index: 4, Err: ErrExists}, {Index: 9, Err: ErrInvalid}}}
	if !errors.Is(be, ErrExists) || !errors.Is(be, ErrInvalid) || errors.Is(be, ErrNotFound) {
		t.Error("BatchError does not unwrap to exactly its causes")
	}
	if be.Error() == "" {
		t.Error("empty message")
	}
}

func tcpKey() FlowKey {
	return FlowKey{
		Fields:    KeyInPort | KeyEthernet | KeyEtherType | KeyIPv4 | KeyTCP,
		InPort:    1,
		Ethernet:  EthernetKey{Src: topology.MustParseMAC("02:00:00:00:00:01"), Dst: topology.MustParseMAC("02:00:00:00:00:02")},
		EtherType: 0x0800,
		IPv4:      IPv4Key{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.1.9"), Proto: 6, TTL: 64},
		TCP:       TCPKey{Src: 40000, Dst: 443},
	}
}

func TestExactMaskMatchesOnlyTheKey(t *testing.T) {
	k := tcpKey()
	m := Match{Key: k, Mask: ExactMask(k)}
	if !m.Matches(&k) {
		t.Fatal("key does not match its exact mask")
	}
	if m.Mask.Fields != k.Fields || m.Mask.UDP != (UDPKey{}) {
		t.Errorf("mask has groups the key lacks: %+v", m.Mask)
	}
	for name, mutate := range map[string]func(*FlowKey){
		"in_port": func(k *FlowKey) { k.InPort = 2 },
		"eth_src": func(k *FlowKey) { k.Ethernet.Src[5] = 9 },
		"ip_ttl":  func(k *FlowKey) { k.IPv4.TTL = 63 },
		"tcp_dst": func(k *FlowKey) { k.TCP.Dst = 80 },
		"no_tcp":  func(k *FlowKey) { k.Fields &^= KeyTCP },
	} {
		o := tcpKey()
		mutate(&o)
		if m.Matches(&o) {
			t.Errorf("%s: a different packet matches an exact flow", name)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	k := tcpKey()
	mask := FlowKey{Fields: KeyEtherType | KeyIPv4, EtherType: 0xffff,
		IPv4: IPv4Key{Src: netip.IPv4Unspecified(), Dst: netip.MustParseAddr("255.255.255.0")}}
	m := Match{Key: k, Mask: mask}
	o := tcpKey()
	o.InPort, o.TCP.Dst, o.IPv4.Dst = 7, 22, netip.MustParseAddr("10.0.1.200")
	if !m.Matches(&o) {
		t.Error("packet in 10.0.1.0/24 does not match")
	}
	o.IPv4.Dst = netip.MustParseAddr("10.0.2.1")
	if m.Matches(&o) {
		t.Error("packet outside 10.0.1.0/24 matches")
	}
	if got := k.Masked(&mask); got.Fields != KeyEtherType|KeyIPv4 || got.InPort != 0 || got.IPv4.Dst != netip.MustParseAddr("10.0.1.0") {
		t.Errorf("Masked = %+v", got)
	}
}

func TestCanonical(t *testing.T) {
	k := tcpKey()
	k.UDP = UDPKey{Src: 1}
	k.VLAN = VLANKey{TPID: 0x8100}
	c := k.Canonical()
	if c.UDP != (UDPKey{}) || c.VLAN != (VLANKey{}) || c.TCP != k.TCP {
		t.Errorf("Canonical = %+v", c)
	}
	if c != tcpKey() {
		t.Error("canonical key differs from the clean one")
	}
	k.Canonicalize()
	if k != c {
		t.Errorf("Canonicalize = %+v, want Canonical's %+v", k, c)
	}
}

func TestMaskedAllocs(t *testing.T) {
	k := tcpKey()
	k.Fields |= KeyTunnel
	k.Tunnel = TunnelKey{ID: 1, Dst: netip.MustParseAddr("192.0.2.1"), GeneveOpts: "\x00\x01\x02\x03"}
	m := ExactMask(k)
	if n := testing.AllocsPerRun(100, func() { _ = k.Masked(&m) }); n != 0 {
		t.Errorf("Masked allocates %v times", n)
	}
}

func BenchmarkMasked(b *testing.B) {
	k := tcpKey()
	m := ExactMask(k)
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Masked(&m)
	}
}

func TestPortTypeString(t *testing.T) {
	for typ, want := range map[PortType]string{PortNetdev: "netdev", PortInternal: "internal", PortGRE: "gre",
		PortVXLAN: "vxlan", PortGeneve: "geneve", 99: "unknown"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", typ, got, want)
		}
	}
}

func TestWithout(t *testing.T) {
	k := tcpKey()
	m := ExactMask(k).Without(KeyTCP | KeyEthernet)
	if m.Fields.Has(KeyTCP) || m.TCP != (TCPKey{}) || m.Ethernet != (EthernetKey{}) || !m.Fields.Has(KeyIPv4) {
		t.Fatalf("Without = %+v", m)
	}
	// Keys are comparable and usable as map keys, which the megaflow cache
	// of the in-process datapath relies on.
	set := map[FlowKey]int{k.Masked(&m): 1}
	o := tcpKey()
	o.TCP.Src = 9
	if set[o.Masked(&m)] != 1 {
		t.Error("masked keys differing in wildcarded fields are different map keys")
	}
}

func TestMatchWithoutMaskIsExact(t *testing.T) {
	k := tcpKey()
	m := Match{Key: k}
	if !m.Matches(&k) {
		t.Error("key does not match itself without a mask")
	}
	o := tcpKey()
	o.TCP.Src++
	if m.Matches(&o) {
		t.Error("a different key matches a mask-less megaflow")
	}
}

func TestStrings(t *testing.T) {
	k := tcpKey()
	want := "in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800)," +
		"ipv4(src=10.0.0.1,dst=10.0.1.9,proto=6,tos=0,ttl=64,frag=no),tcp(src=40000,dst=443)"
	if got := k.String(); got != want {
		t.Errorf("key:\n got %s\nwant %s", got, want)
	}
	acts := Actions{Set[Mark]{Value: 3}, Output{Port: 2}, CT{Zone: 1, Commit: true}, Recirc{ID: 5}}
	if got, want := acts.String(), "set(skb_mark(0x3)),2,ct(zone=1,commit=true),recirc(0x5)"; got != want {
		t.Errorf("actions:\n got %s\nwant %s", got, want)
	}
	if got := (Actions{}).String(); got != "drop" {
		t.Errorf("empty actions: %s", got)
	}
}

// A megaflow prints as ovs-dpctl prints it: wildcarded fields and groups
// left out, partly masked fields as value/mask.
func TestMatchString(t *testing.T) {
	k := tcpKey()
	m := FlowKey{Fields: KeyInPort | KeyEthernet | KeyEtherType | KeyIPv4 | KeyTCP}
	m.InPort = ^PortNumber(0)
	m.Ethernet.Dst = onesM
	m.EtherType = 0xffff
	m.IPv4 = IPv4Key{Src: netip.MustParseAddr("255.255.255.0"), Dst: ones4, Proto: 0xff, Frag: 0xff}
	m.TCP.Dst = 0xffff
	got := Match{Key: k, Mask: m}.String()
	want := "in_port(1),eth(dst=02:00:00:00:00:02),eth_type(0x0800)," +
		"ipv4(src=10.0.0.1/255.255.255.0,dst=10.0.1.9,proto=6,frag=no),tcp(dst=443)"
	if got != want {
		t.Errorf("match:\n got %s\nwant %s", got, want)
	}
	// A mask without groups is an exact match: the key, whole.
	if got := (Match{Key: k}).String(); got != k.String() {
		t.Errorf("mask-less match %s, want %s", got, k.String())
	}
	// A group present in the mask with every field wildcarded is left out.
	m.Fields |= KeyTunnel
	k.Fields |= KeyTunnel
	k.Tunnel = TunnelKey{ID: 7, Flags: TunnelKeyPresent}
	if got := (Match{Key: k, Mask: m}).String(); got != want {
		t.Errorf("wildcarded tunnel printed:\n got %s\nwant %s", got, want)
	}
	m.Tunnel = TunnelKey{ID: ^uint64(0), Flags: TunnelKeyPresent | TunnelCsum}
	want = "tunnel(tun_id=0x7,flags(-csum+key))," + want
	if got := (Match{Key: k, Mask: m}).String(); got != want {
		t.Errorf("tunnel:\n got %s\nwant %s", got, want)
	}
}

func TestSetActionStrings(t *testing.T) {
	for _, c := range []struct {
		a    Action
		want string
	}{
		{SetMasked[EthernetKey]{Value: EthernetKey{Src: topology.MAC{2, 0, 0, 0, 0, 9}}, Mask: EthernetKey{Src: onesM}}, "set(eth(src=02:00:00:00:00:09))"},
		{SetMasked[IPv4Key]{Value: IPv4Key{Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.IPv4Unspecified(), TTL: 63}, Mask: IPv4Key{Src: ones4, Dst: netip.IPv4Unspecified(), TTL: 0xff}}, "set(ipv4(src=203.0.113.1,ttl=63))"},
		{SetMasked[TCPKey]{Value: TCPKey{Src: 1025}, Mask: TCPKey{Src: 0xffff}}, "set(tcp(src=1025))"},
		{SetMasked[UDPKey]{Value: UDPKey{Dst: 0x100}, Mask: UDPKey{Dst: 0xff00}}, "set(udp(dst=256/0xff00))"},
		{Set[TunnelKey]{Value: TunnelKey{ID: 0x10, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), TTL: 64, Flags: TunnelKeyPresent}},
			"set(tunnel(tun_id=0x10,src=192.0.2.1,dst=192.0.2.2,tos=0,ttl=64,tp_src=0,tp_dst=0,flags(+key)))"},
		{Set[Priority]{Value: 2}, "set(skb_priority(0x2))"},
	} {
		if got := actionString(c.a); got != c.want {
			t.Errorf("%#v:\n got %s\nwant %s", c.a, got, c.want)
		}
	}
}
