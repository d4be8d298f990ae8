package inproc

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
)

// loopbackPair returns two distinct random loopback addresses and a random
// UDP port, so that parallel test processes do not collide.
func loopbackPair() (a, b netip.Addr, port uint16) {
	x, y := byte(1+rand.IntN(250)), byte(1+rand.IntN(250))
	return netip.AddrFrom4([4]byte{127, x, y, 1}), netip.AddrFrom4([4]byte{127, x, y, 2}), uint16(20000 + rand.IntN(40000))
}

// addVXLAN adds a VXLAN port on UDP *port. If another process holds that
// port, it draws another and updates *port (a zero *port is left to the
// datapath's default).
func addVXLAN(t testing.TB, d *Datapath, port *uint16, pids ...uint32) datapath.Port {
	t.Helper()
	p, err := d.CreatePort(ctxT(t), datapath.PortSpec{Name: "vx", Type: datapath.PortVXLAN, DstPort: *port, UpcallPIDs: pids})
	for try := 0; errors.Is(err, syscall.EADDRINUSE) && *port != 0 && try < 20; try++ {
		*port = uint16(20000 + rand.IntN(40000))
		p, err = d.CreatePort(ctxT(t), datapath.PortSpec{Name: "vx", Type: datapath.PortVXLAN, DstPort: *port, UpcallPIDs: pids})
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) && runtime.GOOS != "linux" {
		t.Skipf("loopback address not configured on this host (only Linux routes all of 127.0.0.0/8): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Two datapaths exchange real RFC 7348 datagrams over loopback UDP:
// A's flow sets the tunnel and outputs to its VXLAN port; B receives the
// frame on its VXLAN port, misses with the tunnel metadata in the key, and
// a flow on that key delivers later frames to B's endpoint.
func TestVXLANBetweenDatapaths(t *testing.T) {
	ipA, ipB, port := loopbackPair()
	ctx := ctxT(t)
	dA := newDP(t, Config{Name: "A", TunnelAddr: ipA})
	dB := newDP(t, Config{Name: "B", TunnelAddr: ipB})
	sB := openSock(t, dB)
	a1 := addPort(t, dA, "a1")
	vxA := addVXLAN(t, dA, &port)
	vxB := addVXLAN(t, dB, &port, sB.PID())
	b1 := addPort(t, dB, "b1")
	if la, _ := dA.LocalAddr(vxA.Number); la != netip.AddrPortFrom(ipA, port) {
		t.Errorf("A's VXLAN socket on %v", la)
	}
	if vxB.DstPort != port || vxB.Type != datapath.PortVXLAN {
		t.Errorf("port %+v", vxB)
	}

	frame := tcpFrame(t)
	tun := datapath.TunnelKey{ID: 5001, Dst: ipB, TOS: 0x10, TTL: 33}
	fa := datapath.Flow{Match: datapath.Match{Key: keyOf(frame, a1.Port()), Mask: l4Mask()}, Actions: datapath.Actions{
		datapath.Set[datapath.TunnelKey]{Value: tun}, datapath.Output{Port: vxA.Number},
	}}
	if err := dA.PutFlow(ctx, &fa, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := a1.Send(frame); err != nil {
		t.Fatal(err)
	}
	u := recvUpcall(t, sB)
	if u.Kind != datapath.UpcallMiss || string(u.Packet) != string(frame) {
		t.Fatalf("B's upcall %+v", u)
	}
	want := keyOf(frame, vxB.Number)
	want.Fields |= datapath.KeyTunnel
	want.Tunnel = datapath.TunnelKey{ID: 5001, Src: ipA, Dst: ipB, Flags: datapath.TunnelKeyPresent, TPSrc: port, TPDst: port}
	if runtime.GOOS == "linux" {
		want.Tunnel.TOS, want.Tunnel.TTL = 0x10, 33
	} else {
		want.Tunnel.TOS, want.Tunnel.TTL = u.Key.Tunnel.TOS, u.Key.Tunnel.TTL
	}
	if u.Key != want {
		t.Fatalf("B's key\n got  %+v\n want %+v", u.Key, want)
	}

	// B: a flow on the tunnel ID and in_port delivers to b1.
	mask := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyTunnel, InPort: ^datapath.PortNumber(0),
		Tunnel: datapath.TunnelKey{ID: ^uint64(0)}}
	fb := datapath.Flow{Match: datapath.Match{Key: u.Key, Mask: mask}, Actions: out(b1.Port())}
	if err := dB.PutFlow(ctx, &fb, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := a1.Send(frame); err != nil {
			t.Fatal(err)
		}
		if got := receiveOne(t, b1); string(got) != string(frame) {
			t.Fatalf("b1 got %x", got)
		}
	}
	noUpcall(t, sB)
	if p, _ := dA.Port(ctx, vxA.Number); p.Stats.TxPackets != 4 || p.Stats.TxErrors != 0 {
		t.Errorf("A's VXLAN port stats %+v", p.Stats)
	}
	if p, _ := dB.Port(ctx, vxB.Number); p.Stats.RxPackets != 4 {
		t.Errorf("B's VXLAN port stats %+v", p.Stats)
	}

	// Another VNI misses B's flow.
	fa.Actions = datapath.Actions{datapath.Set[datapath.TunnelKey]{Value: datapath.TunnelKey{ID: 7, Dst: ipB, TTL: 64}}, datapath.Output{Port: vxA.Number}}
	if err := dA.PutFlow(ctx, &fa, datapath.PutModify); err != nil {
		t.Fatal(err)
	}
	if err := a1.Send(frame); err != nil {
		t.Fatal(err)
	}
	if u := recvUpcall(t, sB); u.Key.Tunnel.ID != 7 {
		t.Errorf("VNI %d", u.Key.Tunnel.ID)
	}

	// Output to a VXLAN port without set(tunnel) drops (TxErrors).
	if err := dA.Execute(ctx, frame, nil, out(vxA.Number)); err != nil {
		t.Fatal(err)
	}
	if p, _ := dA.Port(ctx, vxA.Number); p.Stats.TxErrors != 1 {
		t.Errorf("tx errors %d, want 1", p.Stats.TxErrors)
	}
	// A userspace action asking for the egress tunnel gets the key the
	// packet would leave with.
	sA := openSock(t, dA)
	if err := dA.Execute(ctx, frame, nil, datapath.Actions{
		datapath.Set[datapath.TunnelKey]{Value: datapath.TunnelKey{ID: 3, Dst: ipB, TTL: 64}},
		datapath.Userspace{PID: sA.PID(), EgressTunnelPort: vxA.Number},
	}); err != nil {
		t.Fatal(err)
	}
	ua := recvUpcall(t, sA)
	if wantE := (datapath.TunnelKey{ID: 3, Src: ipA, Dst: ipB, TTL: 64, TPSrc: port, TPDst: port}); !ua.HasEgressTunnel || ua.EgressTunnel != wantE {
		t.Errorf("egress tunnel %+v (%v), want %+v", ua.EgressTunnel, ua.HasEgressTunnel, wantE)
	}
}

// The datagrams on the wire are RFC 7348 VXLAN, readable by a plain UDP
// socket; and a datagram written by a plain UDP socket is decapsulated.
func TestVXLANWireFormat(t *testing.T) {
	ipA, ipB, port := loopbackPair()
	ctx := ctxT(t)
	d := newDP(t, Config{TunnelAddr: ipA})
	s := openSock(t, d)
	vx := addVXLAN(t, d, &port, s.PID())
	sniff, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ipB, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer sniff.Close()
	sp := netip.MustParseAddrPort(sniff.LocalAddr().String())
	frame := tcpFrame(t)
	if err := d.Execute(ctx, frame, nil, datapath.Actions{
		datapath.Set[datapath.TunnelKey]{Value: datapath.TunnelKey{ID: 0xabcdef, Dst: ipB, TPDst: sp.Port(), TTL: 64}},
		datapath.Output{Port: vx.Number},
	}); err != nil {
		t.Fatal(err)
	}
	_ = sniff.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 2048)
	n, from, err := sniff.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if from != netip.AddrPortFrom(ipA, port) {
		t.Errorf("datagram from %v", from)
	}
	hdr := []byte{0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0}
	if string(buf[:8]) != string(hdr) || string(buf[8:n]) != string(frame) {
		t.Errorf("datagram %x, want header %x and the frame", buf[:n], hdr)
	}

	// A hand-made datagram with reserved bits set (to be ignored) and VNI 42.
	dg := append([]byte{0x08 | 0x40, 1, 2, 3, 0, 0, 42, 0x99}, frame...)
	if _, err := sniff.WriteToUDPAddrPort(dg, netip.AddrPortFrom(ipA, port)); err != nil {
		t.Fatal(err)
	}
	u := recvUpcall(t, s)
	if u.Key.Tunnel.ID != 42 || u.Key.Tunnel.Src != ipB || u.Key.Tunnel.TPSrc != sp.Port() || string(u.Packet) != string(frame) {
		t.Errorf("upcall from a plain socket: %+v", u.Key.Tunnel)
	}
	// Datagrams without the I flag, or too short, are receive errors.
	for _, bad := range [][]byte{append([]byte{0, 0, 0, 0, 0, 0, 42, 0}, frame...), {0x08, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3}} {
		if _, err := sniff.WriteToUDPAddrPort(bad, netip.AddrPortFrom(ipA, port)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Second)
	for {
		p, _ := d.Port(ctx, vx.Number)
		if p.Stats.RxErrors == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rx errors %d, want 2", p.Stats.RxErrors)
		}
		time.Sleep(5 * time.Millisecond)
	}
	noUpcall(t, s)

	// Deleting the port closes its socket: the address can be bound again.
	if err := d.DeletePort(ctx, vx.Number); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ipA, port)))
	if err != nil {
		t.Fatalf("socket not released: %v", err)
	}
	c.Close()
}

func TestVXLANDefaultPort(t *testing.T) {
	a, _, _ := loopbackPair()
	d := newDP(t, Config{TunnelAddr: a})
	var zero uint16
	p := addVXLAN(t, d, &zero)
	if la, _ := d.LocalAddr(p.Number); p.DstPort != 4789 || la.Port() != 4789 {
		t.Errorf("default VXLAN port %d, socket %v", p.DstPort, la)
	}
}

func TestOuterTOS(t *testing.T) {
	ce := tcpFrame(t)
	ce[15] |= 3 // inner ECN: congestion experienced
	for _, tc := range []struct {
		tos   uint8
		inner []byte
		want  uint8
	}{
		{0x10, tcpFrame(t), 0x10}, // inner TOS 0x28: ECN 0
		{0x13, tcpFrame(t), 0x10},
		{0x10, ce, 0x12}, // CE becomes ECT(0) on the outer header
		{0x00, unhex("02000000000b02000000000a0806"), 0},
	} {
		if got := outerTOS(tc.tos, tc.inner); got != tc.want {
			t.Errorf("outerTOS(%#x) = %#x, want %#x", tc.tos, got, tc.want)
		}
	}
}

// FuzzVXLANDecap feeds arbitrary UDP payloads to the VXLAN receive path:
// decapsulation and key extraction never panic, accepted datagrams have a
// 24-bit VNI and the inner frame that follows the header, and re-encoding
// gives back the datagram up to its reserved bits.
func FuzzVXLANDecap(f *testing.F) {
	f.Add(AppendVXLAN(nil, 5001, tcpFrame(f)))
	f.Add(AppendVXLAN(nil, 0xffffff, udpFrame(f)))
	f.Add([]byte{0x08, 0, 0, 0, 0, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	f.Fuzz(func(t *testing.T, b []byte) {
		vni, inner, err := DecapVXLAN(b)
		if err != nil {
			if !errors.Is(err, ErrBadVXLAN) {
				t.Fatalf("error %v does not wrap ErrBadVXLAN", err)
			}
			if len(b) >= VXLANHeaderLen+ethHdrLen && b[0]&0x08 != 0 {
				t.Fatalf("valid datagram rejected: %v", err)
			}
			return
		}
		if vni >= 1<<24 || len(inner) != len(b)-VXLANHeaderLen || len(inner) < ethHdrLen {
			t.Fatalf("vni %d, inner %d of %d bytes", vni, len(inner), len(b))
		}
		re := AppendVXLAN(nil, vni, inner)
		if re[0] != 0x08 || string(re[4:7]) != string(b[4:7]) || string(re[8:]) != string(b[8:]) {
			t.Fatalf("re-encoded %x from %x", re, b)
		}
		tun := datapath.TunnelKey{ID: uint64(vni), Flags: datapath.TunnelKeyPresent}
		var k datapath.FlowKey
		receiveKey(inner, 1, &tun, &k)
		if k.Tunnel.ID != uint64(vni) || k != k.Canonical() {
			t.Fatalf("key %+v", k)
		}
	})
}
