package harness

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/l4"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// Config configures a Harness. The zero value is ready to use.
type Config struct {
	// Seed seeds the random stream that load balancers and NAT draw from:
	// the same seed and the same packets give the same results.
	Seed uint64
	// Now is when the harness's clock starts (flow-state idle expiry);
	// zero means 2000-01-01 00:00 UTC.
	// Advance moves the clock.
	Now time.Time
	// Cold starts with empty MAC and ARP tables. By default every VM is
	// learned on its port, and every router linked to a VM's bridge has an
	// ARP entry for the VM when the linked port's subnet holds its address,
	// as in a cloud that has been running for a while.
	Cold bool
	// Ports leases dynamic SNAT ports. Nil means the harness's own
	// in-memory leaser (deterministic; its first allocation in a new port
	// block ends with NotYet and is simulated again, as on an agent).
	Ports l4.NATPorts
	// Engine configures the simulator.
	Engine simulation.Config
	// Logger receives debug messages of the harness and the stateful
	// services; nil discards them.
	Logger *slog.Logger
	// Validated says the topology has been validated already, as every
	// topology topofile.Load returns has: New does not validate it again.
	// False means New validates it (a fifth of New's time on a
	// 100,000-port topology).
	Validated bool
}

// Harness runs packets through a topology with the simulator; see the
// package documentation. It is not safe for concurrent use.
type Harness struct {
	cfg      Config
	snap     *topology.Snapshot
	names    *names
	vms      []VM
	plugged  map[topology.ID]VM // machines plugged with Plug, by port
	exterior []topology.ID      // exterior ports, sorted by ID
	tables   *tables
	eng      *simulation.Engine
	svc      *l4.Services
	down     map[topology.ID]bool // pool members the health monitor sees down
	now      time.Time
	rng      uint64
	log      *slog.Logger
}

// New returns a harness for t, which must be valid (t.Validate); t is
// copied.
func New(t *topology.Topology, cfg Config) (*Harness, error) {
	if t == nil {
		return nil, fmt.Errorf("harness: no topology")
	}
	if !cfg.Validated {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("harness: %w", err)
		}
	}
	h := &Harness{cfg: cfg, plugged: map[topology.ID]VM{}, down: map[topology.ID]bool{},
		tables: newTables(), now: cfg.Now, rng: cfg.Seed, log: cfg.Logger}
	if h.now.IsZero() {
		h.now = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	ports := cfg.Ports
	if ports == nil {
		ports = newMemPorts()
	}
	clock := func() time.Time { return h.now }
	h.svc = l4.New(l4.Config{
		Conns:  flowstate.NewConnTable(flowstate.TableConfig{Now: clock}),
		NATs:   flowstate.NewNATTable(flowstate.TableConfig{Now: clock}),
		Ports:  ports,
		Health: memberHealth{h},
		Logger: h.log,
	})
	h.eng = simulation.New(cfg.Engine)
	h.setSnapshot(topology.NewSnapshot(t))
	if !cfg.Cold {
		for _, v := range h.vms {
			h.learn(v)
		}
	}
	return h, nil
}

// Load reads a topology file (see topology/topofile) from r and returns a
// harness for it; filename is used in error messages only.
func Load(r io.Reader, filename string, cfg Config) (*Harness, error) {
	t, err := topofile.Load(r, filename)
	if err != nil {
		return nil, err
	}
	cfg.Validated = true
	return New(t, cfg)
}

// LoadFile is Load on the file at path.
func LoadFile(path string, cfg Config) (*Harness, error) {
	t, err := topofile.LoadFile(path)
	if err != nil {
		return nil, err
	}
	return New(t, cfg)
}

// setSnapshot makes s the topology, indexing its names and VMs; exterior
// ports new to the harness start active.
func (h *Harness) setSnapshot(s *topology.Snapshot) {
	h.snap, h.names, h.vms = s, newNames(s), VMs(s)
	for i, v := range h.vms {
		if p, ok := h.plugged[v.Port]; ok {
			h.vms[i] = p
		}
	}
	known := map[topology.ID]bool{}
	for _, id := range h.exterior {
		known[id] = true
	}
	h.exterior = h.exterior[:0]
	for o := range s.Objects(topology.KindPort) {
		if p := o.(*topology.Port); p.Kind() == topology.PortExterior {
			h.exterior = append(h.exterior, p.ID)
			if !known[p.ID] {
				h.tables.active[p.ID] = true
			}
		}
	}
}

// Update applies topology changes (a port taken down, a rule added) to
// the harness's snapshot; the state is kept.
func (h *Harness) Update(changes ...topology.Change) {
	h.setSnapshot(h.snap.Apply(changes...))
}

// Snapshot returns the topology the harness simulates on.
func (h *Harness) Snapshot() *topology.Snapshot { return h.snap }

// Name returns the name of the object with that ID (its ID as text if it
// has no name).
func (h *Harness) Name(id topology.ID) string { return h.names.name(id) }

// ID returns the ID of the object of kind k named name.
func (h *Harness) ID(k topology.Kind, name string) (topology.ID, error) { return h.names.id(k, name) }

// Port returns the port named name.
func (h *Harness) Port(name string) (*topology.Port, error) {
	id, err := h.names.id(topology.KindPort, name)
	if err != nil {
		return nil, err
	}
	p, _ := h.snap.Port(id)
	return p, nil
}

// exteriorPort returns the exterior port named name.
func (h *Harness) exteriorPort(name string) (*topology.Port, error) {
	p, err := h.Port(name)
	if err != nil {
		return nil, err
	}
	if p.Kind() != topology.PortExterior {
		return nil, fmt.Errorf("%w: port %q is %v: packets enter and leave the virtual network through exterior ports", ErrNotExterior, name, p.Kind())
	}
	return p, nil
}

// VMs returns the VMs, sorted by port ID, with the machines plugged with
// Plug into bridge ports in place of the ones derived from the topology.
func (h *Harness) VMs() []VM { return append([]VM(nil), h.vms...) }

// VM returns the machine behind the exterior port named name: a VM, or a
// machine plugged with Plug.
func (h *Harness) VM(name string) (VM, bool) {
	id, err := h.names.id(topology.KindPort, name)
	if err != nil {
		return VM{}, false
	}
	if v, ok := h.plugged[id]; ok {
		return v, true
	}
	for _, v := range h.vms {
		if v.Port == id {
			return v, true
		}
	}
	return VM{}, false
}

// Plug plugs a machine with that MAC and address into the exterior port
// named port: on a bridge port it replaces the VM the topology gives; on a
// router port it is a neighbour outside the topology (the upstream gateway
// behind an uplink). It answers the ARP requests for its address that
// reach its port, and packets sent from the port come from it. It is not
// learned in any table.
func (h *Harness) Plug(port string, mac topology.MAC, addr netip.Addr) error {
	p, err := h.exteriorPort(port)
	if err != nil {
		return err
	}
	v := VM{Name: p.Name, Port: p.ID, Bridge: p.Bridge, MAC: mac, Addr: addr}
	h.plugged[p.ID] = v
	for i := range h.vms {
		if h.vms[i].Port == p.ID {
			h.vms[i] = v
		}
	}
	return nil
}

// Learn learns the VMs named (as Config.Cold describes).
func (h *Harness) Learn(vms ...string) error {
	for _, name := range vms {
		v, ok := h.VM(name)
		if !ok || v.Bridge.IsZero() {
			return fmt.Errorf("%w: no VM named %q", ErrUnknownName, name)
		}
		h.learn(v)
	}
	return nil
}

func (h *Harness) learn(v VM) {
	h.tables.macs[macKey{v.Bridge, 0, v.MAC}] = v.Port
	if !v.Addr.IsValid() {
		return
	}
	for _, rp := range h.gateways(v.Bridge) {
		for _, s := range rp.Subnets {
			if s.Contains(v.Addr) {
				h.tables.arp[ipKey{rp.Router, v.Addr}] = simulation.ARPEntry{MAC: v.MAC}
			}
		}
	}
}

// gateways returns the router ports linked to a bridge.
func (h *Harness) gateways(bridge topology.ID) []*topology.Port {
	bv, ok := h.snap.BridgeView(bridge)
	if !ok {
		return nil
	}
	var rps []*topology.Port
	for _, id := range bv.Ports {
		bp, _ := h.snap.Port(id)
		if bp == nil || bp.Peer.IsZero() {
			continue
		}
		if rp, ok := h.snap.Port(bp.Peer); ok && rp.IsRouterPort() {
			rps = append(rps, rp)
		}
	}
	return rps
}

// SetARP stores an ARP entry in the router named router: for a next hop
// outside the topology, or to point a router at a given MAC.
func (h *Harness) SetARP(router string, ip netip.Addr, mac topology.MAC) error {
	id, err := h.names.id(topology.KindRouter, router)
	if err != nil {
		return err
	}
	h.tables.arp[ipKey{id, ip}] = simulation.ARPEntry{MAC: mac}
	return nil
}

// SetPortActive marks the exterior port named port active (its routes are
// published, as when its VM's agent runs) or not.
func (h *Harness) SetPortActive(port string, active bool) error {
	p, err := h.exteriorPort(port)
	if err != nil {
		return err
	}
	h.tables.active[p.ID] = active
	return nil
}

// SetMemberUp says whether the health monitor sees the member addr:port
// ("10.0.0.12:80") of the pool named pool up. It applies to members whose
// status is monitored (the others are up when active, down when inactive);
// they start up.
func (h *Harness) SetMemberUp(pool, member string, up bool) error {
	pid, err := h.names.id(topology.KindPool, pool)
	if err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(member)
	if err != nil {
		return fmt.Errorf("%w: member %q is not addr:port", ErrUnknownName, member)
	}
	for o := range h.snap.Objects(topology.KindPoolMember) {
		if m := o.(*topology.PoolMember); m.Pool == pid && m.Addr == ap.Addr() && m.Port == ap.Port() {
			if m.Status != topology.MemberMonitored {
				return fmt.Errorf("%w: member %s of pool %q is %v: the health monitor does not decide", ErrNotMonitored, member, pool, m.Status)
			}
			h.down[m.ID] = !up
			return nil
		}
	}
	return fmt.Errorf("%w: pool %q has no member %s", ErrUnknownName, pool, member)
}

// memberHealth is the harness's l4.MemberHealth.
type memberHealth struct{ h *Harness }

func (m memberHealth) MemberUp(member topology.ID) bool { return !m.h.down[member] }

// Now returns the harness's clock.
func (h *Harness) Now() time.Time { return h.now }

// Advance moves the clock forward by d and expires the conntrack and NAT
// keys that idled for flowstate's idle timeout (the harness installs no
// flows, so every key idles from the packet that last used it). It returns
// the numbers of conntrack and NAT keys removed.
func (h *Harness) Advance(d time.Duration) (conns, nats int) {
	h.now = h.now.Add(d)
	return h.svc.Expire()
}

// rand returns the next value of the harness's random stream (SplitMix64).
func (h *Harness) rand() uint64 {
	h.rng += 0x9e3779b97f4a7c15
	z := h.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
