package vtep

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// Global is the single row of the Global table, the root of the physical
// configuration.
type Global struct {
	UUID        ovsdb.UUID
	Managers    []ovsdb.UUID // Manager rows
	Switches    []ovsdb.UUID // Physical_Switch rows
	OtherConfig map[string]string
}

// ParseGlobal reads a Global row.
func ParseGlobal(uuid ovsdb.UUID, r ovsdb.Row) (Global, error) {
	g := Global{UUID: uuid}
	var e1, e2, e3 error
	g.Managers, e1 = getUUIDSet(r, "managers")
	g.Switches, e2 = getUUIDSet(r, "switches")
	g.OtherConfig, e3 = getStringMap(r, "other_config")
	return g, wrap(TableGlobal, uuid, errs(e1, e2, e3))
}

// Row returns the writable columns.
func (g Global) Row() ovsdb.Row {
	return ovsdb.Row{"managers": uuidSet(g.Managers), "switches": uuidSet(g.Switches), "other_config": stringMap(g.OtherConfig)}
}

// PhysicalSwitch is a VTEP: its name, addresses and ports.
type PhysicalSwitch struct {
	UUID          ovsdb.UUID
	Name          string
	Description   string
	ManagementIPs []netip.Addr
	TunnelIPs     []netip.Addr // the VTEP's VXLAN tunnel endpoints
	Ports         []ovsdb.UUID // Physical_Port rows
	Tunnels       []ovsdb.UUID // Tunnel rows
	OtherConfig   map[string]string
	FaultStatus   []string // switch_fault_status, read-only
}

// ParsePhysicalSwitch reads a Physical_Switch row.
func ParsePhysicalSwitch(uuid ovsdb.UUID, r ovsdb.Row) (PhysicalSwitch, error) {
	s := PhysicalSwitch{UUID: uuid}
	var e [8]error
	s.Name, e[0] = getString(r, "name")
	s.Description, e[1] = getString(r, "description")
	s.ManagementIPs, e[2] = getAddrSet(r, "management_ips")
	s.TunnelIPs, e[3] = getAddrSet(r, "tunnel_ips")
	s.Ports, e[4] = getUUIDSet(r, "ports")
	s.Tunnels, e[5] = getUUIDSet(r, "tunnels")
	s.OtherConfig, e[6] = getStringMap(r, "other_config")
	s.FaultStatus, e[7] = getStringSet(r, "switch_fault_status")
	return s, wrap(TablePhysicalSwitch, uuid, errs(e[:]...))
}

// Row returns the writable columns.
func (s PhysicalSwitch) Row() ovsdb.Row {
	return ovsdb.Row{
		"name": s.Name, "description": s.Description,
		"management_ips": addrSet(s.ManagementIPs), "tunnel_ips": addrSet(s.TunnelIPs),
		"ports": uuidSet(s.Ports), "tunnels": uuidSet(s.Tunnels), "other_config": stringMap(s.OtherConfig),
	}
}

// PhysicalPort is a port of a VTEP and the logical switches its VLANs are
// bound to.
type PhysicalPort struct {
	UUID         ovsdb.UUID
	Name         string
	Description  string
	VLANBindings map[uint16]ovsdb.UUID // VLAN (0-4095) → Logical_Switch
	OtherConfig  map[string]string
	FaultStatus  []string // port_fault_status, read-only
}

// ParsePhysicalPort reads a Physical_Port row.
func ParsePhysicalPort(uuid ovsdb.UUID, r ovsdb.Row) (PhysicalPort, error) {
	p := PhysicalPort{UUID: uuid}
	var e [5]error
	p.Name, e[0] = getString(r, "name")
	p.Description, e[1] = getString(r, "description")
	p.VLANBindings, e[2] = getVLANMap(r, "vlan_bindings")
	p.OtherConfig, e[3] = getStringMap(r, "other_config")
	p.FaultStatus, e[4] = getStringSet(r, "port_fault_status")
	return p, wrap(TablePhysicalPort, uuid, errs(e[:]...))
}

// Row returns the writable columns.
func (p PhysicalPort) Row() ovsdb.Row {
	b := make(ovsdb.Map, len(p.VLANBindings))
	for vlan, ls := range p.VLANBindings {
		b[int64(vlan)] = ls
	}
	return ovsdb.Row{"name": p.Name, "description": p.Description, "vlan_bindings": b, "other_config": stringMap(p.OtherConfig)}
}

// LogicalSwitch is a broadcast domain shared by VTEPs and virtual
// networks; its tunnel key is the VXLAN VNI.
type LogicalSwitch struct {
	UUID            ovsdb.UUID
	Name            string
	Description     string
	TunnelKey       int64 // the VNI, when HasTunnelKey
	HasTunnelKey    bool
	ReplicationMode string // "", "service_node" or "source_node"
	OtherConfig     map[string]string
}

// ParseLogicalSwitch reads a Logical_Switch row.
func ParseLogicalSwitch(uuid ovsdb.UUID, r ovsdb.Row) (LogicalSwitch, error) {
	l := LogicalSwitch{UUID: uuid}
	var e [5]error
	l.Name, e[0] = getString(r, "name")
	l.Description, e[1] = getString(r, "description")
	l.TunnelKey, l.HasTunnelKey, e[2] = getOptionalInt(r, "tunnel_key")
	l.ReplicationMode, e[3] = getOptionalString(r, "replication_mode")
	l.OtherConfig, e[4] = getStringMap(r, "other_config")
	return l, wrap(TableLogicalSwitch, uuid, errs(e[:]...))
}

// Row returns the writable columns.
func (l LogicalSwitch) Row() ovsdb.Row {
	mode := ovsdb.Set{}
	if l.ReplicationMode != "" {
		mode = ovsdb.Set{l.ReplicationMode}
	}
	return ovsdb.Row{
		"name": l.Name, "description": l.Description, "tunnel_key": optionalInt(l.TunnelKey, l.HasTunnelKey),
		"replication_mode": mode, "other_config": stringMap(l.OtherConfig),
	}
}

// UcastMac is a row of Ucast_Macs_Local (MACs the VTEP learnt behind its
// ports) or Ucast_Macs_Remote (MACs reachable through a tunnel, which the
// controller writes).
type UcastMac struct {
	UUID          ovsdb.UUID
	MAC           net.HardwareAddr
	LogicalSwitch ovsdb.UUID
	Locator       ovsdb.UUID // Physical_Locator
	IP            netip.Addr // ipaddr; zero when unknown
}

// ParseUcastMac reads a Ucast_Macs_Local or Ucast_Macs_Remote row.
func ParseUcastMac(uuid ovsdb.UUID, r ovsdb.Row) (UcastMac, error) {
	m := UcastMac{UUID: uuid}
	mac, e1 := getString(r, "MAC")
	if e1 == nil {
		var err error
		if m.MAC, err = net.ParseMAC(mac); err != nil {
			e1 = fmt.Errorf("%w: MAC %q: %v", ErrBadRow, mac, err)
		}
	}
	var e2, e3, e4 error
	m.LogicalSwitch, e2 = getUUID(r, "logical_switch")
	m.Locator, e3 = getUUID(r, "locator")
	m.IP, e4 = getAddr(r, "ipaddr")
	return m, wrap("Ucast_Macs", uuid, errs(e1, e2, e3, e4))
}

// Row returns the columns. To refer to a Physical_Locator inserted by the
// same transaction, replace "locator" with its ovsdb.NamedUUID (see
// [InsertUcastMacRemote]).
func (m UcastMac) Row() ovsdb.Row {
	return ovsdb.Row{"MAC": m.MAC.String(), "logical_switch": m.LogicalSwitch, "locator": m.Locator, "ipaddr": addrString(m.IP)}
}

// McastMac is a row of Mcast_Macs_Local or Mcast_Macs_Remote: where a
// logical switch sends multicast, or with MAC [UnknownDst] every frame to
// an unknown destination (the flooding proxy, for remote rows).
type McastMac struct {
	UUID          ovsdb.UUID
	MAC           string // a multicast MAC or UnknownDst
	LogicalSwitch ovsdb.UUID
	LocatorSet    ovsdb.UUID // Physical_Locator_Set
	IP            netip.Addr
}

// ParseMcastMac reads a Mcast_Macs_Local or Mcast_Macs_Remote row.
func ParseMcastMac(uuid ovsdb.UUID, r ovsdb.Row) (McastMac, error) {
	m := McastMac{UUID: uuid}
	var e [4]error
	m.MAC, e[0] = getString(r, "MAC")
	m.LogicalSwitch, e[1] = getUUID(r, "logical_switch")
	m.LocatorSet, e[2] = getUUID(r, "locator_set")
	m.IP, e[3] = getAddr(r, "ipaddr")
	return m, wrap("Mcast_Macs", uuid, errs(e[:]...))
}

// Row returns the columns; replace "locator_set" with a NamedUUID to refer
// to a set inserted by the same transaction.
func (m McastMac) Row() ovsdb.Row {
	return ovsdb.Row{"MAC": m.MAC, "logical_switch": m.LogicalSwitch, "locator_set": m.LocatorSet, "ipaddr": addrString(m.IP)}
}

// PhysicalLocator is a tunnel endpoint: a VTEP's or a hypervisor's VXLAN
// address. The server deletes locators no row refers to.
type PhysicalLocator struct {
	UUID              ovsdb.UUID
	EncapsulationType string // EncapVXLAN
	DstIP             netip.Addr
	TunnelKey         int64
	HasTunnelKey      bool
}

// ParsePhysicalLocator reads a Physical_Locator row.
func ParsePhysicalLocator(uuid ovsdb.UUID, r ovsdb.Row) (PhysicalLocator, error) {
	l := PhysicalLocator{UUID: uuid}
	var e [3]error
	l.EncapsulationType, e[0] = getString(r, "encapsulation_type")
	l.DstIP, e[1] = getAddr(r, "dst_ip")
	l.TunnelKey, l.HasTunnelKey, e[2] = getOptionalInt(r, "tunnel_key")
	return l, wrap(TablePhysicalLocator, uuid, errs(e[:]...))
}

// Row returns the columns; an empty EncapsulationType is written as
// EncapVXLAN, the only one the schema allows.
func (l PhysicalLocator) Row() ovsdb.Row {
	encap := l.EncapsulationType
	if encap == "" {
		encap = EncapVXLAN
	}
	return ovsdb.Row{"encapsulation_type": encap, "dst_ip": addrString(l.DstIP), "tunnel_key": optionalInt(l.TunnelKey, l.HasTunnelKey)}
}

// PhysicalLocatorSet is an immutable set of locators (at least one).
type PhysicalLocatorSet struct {
	UUID     ovsdb.UUID
	Locators []ovsdb.UUID
}

// ParsePhysicalLocatorSet reads a Physical_Locator_Set row.
func ParsePhysicalLocatorSet(uuid ovsdb.UUID, r ovsdb.Row) (PhysicalLocatorSet, error) {
	locs, err := getUUIDSet(r, "locators")
	return PhysicalLocatorSet{UUID: uuid, Locators: locs}, wrap(TablePhysicalLocatorSet, uuid, err)
}

// Row returns the columns.
func (s PhysicalLocatorSet) Row() ovsdb.Row { return ovsdb.Row{"locators": uuidSet(s.Locators)} }

// Tunnel is a tunnel of a Physical_Switch between a local and a remote
// locator, with its BFD settings and state.
type Tunnel struct {
	UUID            ovsdb.UUID
	Local, Remote   ovsdb.UUID // Physical_Locator rows
	BFDConfigLocal  map[string]string
	BFDConfigRemote map[string]string
	BFDParams       map[string]string
	BFDStatus       map[string]string // read-only
}

// ParseTunnel reads a Tunnel row.
func ParseTunnel(uuid ovsdb.UUID, r ovsdb.Row) (Tunnel, error) {
	t := Tunnel{UUID: uuid}
	var e [6]error
	t.Local, e[0] = getUUID(r, "local")
	t.Remote, e[1] = getUUID(r, "remote")
	t.BFDConfigLocal, e[2] = getStringMap(r, "bfd_config_local")
	t.BFDConfigRemote, e[3] = getStringMap(r, "bfd_config_remote")
	t.BFDParams, e[4] = getStringMap(r, "bfd_params")
	t.BFDStatus, e[5] = getStringMap(r, "bfd_status")
	return t, wrap(TableTunnel, uuid, errs(e[:]...))
}

// Row returns the writable columns.
func (t Tunnel) Row() ovsdb.Row {
	return ovsdb.Row{
		"local": t.Local, "remote": t.Remote, "bfd_config_local": stringMap(t.BFDConfigLocal),
		"bfd_config_remote": stringMap(t.BFDConfigRemote), "bfd_params": stringMap(t.BFDParams),
	}
}

// wrap names the row in a parse error.
func wrap(table string, uuid ovsdb.UUID, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s row %s: %w", table, uuid, err)
}
