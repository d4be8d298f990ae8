// Package vteptest is a software VTEP for tests: a VXLAN endpoint on a
// loopback UDP socket that behaves, toward its hardware_vtep database and
// toward the hosts it tunnels to, like a hardware VTEP with one host
// behind one untagged physical port.
//
// It exists because the ovs-vtep emulator of Open vSwitch learns MACs and
// fills its database but, on the dummy datapath it runs on without the
// kernel module, does not put VXLAN on the wire. The Endpoint reads its
// logical switch, remote MACs and flooding locators from the database
// (a real ovsdb-server, internal/ovsdbtest) through vxgw/ovsdb, writes the
// MACs it learns from its host into Ucast_Macs_Local as a VTEP does, and:
//
//   - a frame from the host to a MAC of Ucast_Macs_Remote goes to that
//     row's locator, anything else (broadcast, multicast, unknown unicast)
//     to the locators of the switch's unknown-dst Mcast_Macs_Remote row
//     (the flooding proxy), as VXLAN with the switch's tunnel key;
//   - a VXLAN datagram with the switch's tunnel key is delivered to the
//     host; others are counted and dropped.
//
// Every datagram sent and received is recorded (Sent, Received), so that
// tests check where frames went and with which VNI.
package vteptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
	"github.com/hivenet/hivenet/vxgw/ovsdb/vtep"
)

// Config configures an Endpoint.
type Config struct {
	// OVSDB is the endpoint of the VTEP's database ("unix:PATH" or
	// "tcp:HOST:PORT"), which must have a Physical_Switch named Switch
	// with a Physical_Port named Port.
	OVSDB        string
	Switch, Port string
	// Addr is the tunnel address the endpoint binds (its locator's
	// address); PeerPort the UDP port it sends VXLAN to (the agents' VTEP
	// tunnel port).
	Addr     netip.AddrPort
	PeerPort uint16
}

// Datagram is a VXLAN datagram the endpoint sent or received.
type Datagram struct {
	Peer   netip.Addr
	VNI    uint32
	Src    topology.MAC
	Dst    topology.MAC
	Length int
}

// Endpoint is a software VTEP. Start it, attach a host to HostPort, and
// Close it.
type Endpoint struct {
	cfg    Config
	conn   *net.UDPConn
	client *ovsdb.Client
	mon    *ovsdb.Monitor
	toHost chan []byte
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sent     []Datagram
	received []Datagram
	dropped  int
	learned  map[topology.MAC]bool
}

var monitored = []string{vtep.TablePhysicalSwitch, vtep.TablePhysicalPort, vtep.TableLogicalSwitch, vtep.TableUcastMacsLocal,
	vtep.TableUcastMacsRemote, vtep.TableMcastMacsRemote, vtep.TablePhysicalLocator, vtep.TablePhysicalLocatorSet}

// Start binds the endpoint's socket, connects to its database and starts
// forwarding.
func Start(ctx context.Context, cfg Config) (*Endpoint, error) {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(cfg.Addr))
	if err != nil {
		return nil, fmt.Errorf("vteptest: %w", err)
	}
	client, err := ovsdb.Dial(ctx, ovsdb.Config{Endpoint: cfg.OVSDB})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("vteptest: %w", err)
	}
	reqs := map[string]ovsdb.MonitorRequest{}
	for _, t := range monitored {
		reqs[t] = ovsdb.MonitorRequest{}
	}
	mon, err := client.Monitor(ctx, vtep.Database, reqs, nil)
	if err != nil {
		client.Close()
		conn.Close()
		return nil, fmt.Errorf("vteptest: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	e := &Endpoint{cfg: cfg, conn: conn, client: client, mon: mon, toHost: make(chan []byte, 256), cancel: cancel,
		learned: map[topology.MAC]bool{}}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.receive(rctx)
	}()
	return e, nil
}

// Close stops the endpoint.
func (e *Endpoint) Close() {
	e.cancel()
	e.conn.Close()
	e.wg.Wait()
	e.client.Close()
}

// Sent returns the datagrams sent so far.
func (e *Endpoint) Sent() []Datagram {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Datagram(nil), e.sent...)
}

// Received returns the datagrams received so far with the switch's VNI.
func (e *Endpoint) Received() []Datagram {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Datagram(nil), e.received...)
}

// Dropped counts the datagrams received with another VNI, or while the
// port was bound to no switch.
func (e *Endpoint) Dropped() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// HostPort is the endpoint's physical port, as the attached host sees it:
// Send puts a frame on the wire toward the VTEP, Receive takes the next
// frame the VTEP delivers (sandbox.Port).
type HostPort struct{ e *Endpoint }

// HostPort returns the port to attach a host to.
func (e *Endpoint) HostPort() HostPort { return HostPort{e} }

// Receive returns the next frame delivered to the host.
func (p HostPort) Receive(ctx context.Context) ([]byte, error) {
	select {
	case f := <-p.e.toHost:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Send forwards a frame of the host.
func (p HostPort) Send(frame []byte) error { return p.e.fromHost(frame) }

// binding is the switch the endpoint's port is bound to (VLAN 0).
type binding struct {
	ls  ovsdb.UUID
	vni uint32
}

// binding reads the port's untagged binding.
func (e *Endpoint) binding() (binding, bool) {
	for u, r := range e.mon.Table(vtep.TablePhysicalPort) {
		p, err := vtep.ParsePhysicalPort(u, r)
		if err != nil || p.Name != e.cfg.Port {
			continue
		}
		ls, ok := p.VLANBindings[0]
		if !ok {
			return binding{}, false
		}
		r, ok := e.mon.Row(vtep.TableLogicalSwitch, ls)
		if !ok {
			return binding{}, false
		}
		l, err := vtep.ParseLogicalSwitch(ls, r)
		if err != nil || !l.HasTunnelKey {
			return binding{}, false
		}
		return binding{ls: ls, vni: uint32(l.TunnelKey)}, true
	}
	return binding{}, false
}

func (e *Endpoint) locatorIP(u ovsdb.UUID) (netip.Addr, bool) {
	r, ok := e.mon.Row(vtep.TablePhysicalLocator, u)
	if !ok {
		return netip.Addr{}, false
	}
	l, err := vtep.ParsePhysicalLocator(u, r)
	return l.DstIP, err == nil && l.DstIP.IsValid()
}

// destinations returns where a frame to dst goes: the locator of its
// remote MAC row, or the flooding locators.
func (e *Endpoint) destinations(b binding, dst topology.MAC) []netip.Addr {
	if !dst.IsMulticast() {
		for u, r := range e.mon.Table(vtep.TableUcastMacsRemote) {
			m, err := vtep.ParseUcastMac(u, r)
			if err == nil && m.LogicalSwitch == b.ls && m.MAC.String() == dst.String() {
				if ip, ok := e.locatorIP(m.Locator); ok {
					return []netip.Addr{ip}
				}
			}
		}
	}
	var out []netip.Addr
	for u, r := range e.mon.Table(vtep.TableMcastMacsRemote) {
		m, err := vtep.ParseMcastMac(u, r)
		if err != nil || m.LogicalSwitch != b.ls || m.MAC != vtep.UnknownDst {
			continue
		}
		sr, _ := e.mon.Row(vtep.TablePhysicalLocatorSet, m.LocatorSet)
		set, _ := vtep.ParsePhysicalLocatorSet(m.LocatorSet, sr)
		for _, l := range set.Locators {
			if ip, ok := e.locatorIP(l); ok {
				out = append(out, ip)
			}
		}
	}
	return out
}

// errUnbound: the port is bound to no switch.
var errUnbound = errors.New("vteptest: the port is bound to no logical switch")

func (e *Endpoint) fromHost(f []byte) error {
	if len(f) < 14 {
		return errors.New("vteptest: short frame")
	}
	b, ok := e.binding()
	if !ok {
		return errUnbound
	}
	dst, src := topology.MAC(f[0:6]), topology.MAC(f[6:12])
	e.learn(b, src, f)
	out := inproc.AppendVXLAN(nil, b.vni, f)
	for _, ip := range e.destinations(b, dst) {
		if _, err := e.conn.WriteToUDPAddrPort(out, netip.AddrPortFrom(ip, e.cfg.PeerPort)); err != nil {
			return err
		}
		e.mu.Lock()
		e.sent = append(e.sent, Datagram{Peer: ip, VNI: b.vni, Src: src, Dst: dst, Length: len(f)})
		e.mu.Unlock()
	}
	return nil
}

// learn writes a new source MAC of the host into Ucast_Macs_Local, with
// the sender address of an ARP frame, as a VTEP does.
func (e *Endpoint) learn(b binding, mac topology.MAC, f []byte) {
	if mac.IsMulticast() {
		return
	}
	e.mu.Lock()
	done := e.learned[mac]
	e.learned[mac] = true
	e.mu.Unlock()
	if done {
		return
	}
	var ip netip.Addr
	if len(f) >= 42 && f[12] == 0x08 && f[13] == 0x06 {
		ip = netip.AddrFrom4([4]byte(f[28:32]))
	}
	row := vtep.UcastMac{MAC: mac[:], LogicalSwitch: b.ls, IP: ip}.Row()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx := context.Background()
		// The server's locator, not the cache's: it deletes a locator as
		// soon as nothing refers to it.
		var ops []ovsdb.Operation
		var loc any = ovsdb.NamedUUID("loc")
		sel, err := e.client.Transact(ctx, vtep.Database, ovsdb.Select{Table: vtep.TablePhysicalLocator,
			Where: []ovsdb.Condition{ovsdb.Cond("dst_ip", ovsdb.FuncEQ, e.cfg.Addr.Addr().String())}, Columns: []string{"_uuid"}})
		if err == nil && len(sel[0].Rows) > 0 {
			loc = sel[0].Rows[0]["_uuid"]
		} else {
			ops = append(ops, ovsdb.Insert{Table: vtep.TablePhysicalLocator, Row: vtep.PhysicalLocator{DstIP: e.cfg.Addr.Addr()}.Row(), UUIDName: "loc"})
		}
		row["locator"] = loc
		ops = append(ops, ovsdb.Insert{Table: vtep.TableUcastMacsLocal, Row: row})
		if _, err := e.client.Transact(ctx, vtep.Database, ops...); err != nil {
			e.mu.Lock()
			delete(e.learned, mac) // learn it again with the next frame
			e.mu.Unlock()
		}
	}()
}

// receive delivers the datagrams of the switch's VNI to the host.
func (e *Endpoint) receive(ctx context.Context) {
	buf := make([]byte, 65536)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		vni, inner, err := inproc.DecapVXLAN(buf[:n])
		b, ok := e.binding()
		e.mu.Lock()
		if err != nil || !ok || vni != b.vni {
			e.dropped++
			e.mu.Unlock()
			continue
		}
		e.received = append(e.received, Datagram{Peer: from.Addr().Unmap(), VNI: vni, Src: topology.MAC(inner[6:12]),
			Dst: topology.MAC(inner[0:6]), Length: len(inner)})
		e.mu.Unlock()
		select {
		case e.toHost <- append([]byte(nil), inner...):
		case <-ctx.Done():
			return
		}
	}
}
