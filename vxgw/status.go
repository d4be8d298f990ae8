package vxgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// ConnState is the state of a VTEP manager's OVSDB connection.
type ConnState string

// Connection states. ConnUnmanaged is not written by managers: ReadStatus
// reports it when no cluster node owns the VTEP.
const (
	ConnConnecting   ConnState = "connecting"
	ConnConnected    ConnState = "connected"
	ConnDisconnected ConnState = "disconnected"
	ConnUnmanaged    ConnState = "unmanaged"
)

// maxConnectionText bounds the text form ParseConnection accepts.
const maxConnectionText = 4096

// Connection is the value of nsdb.KeyVTEPConnectionState: the OVSDB
// connection of the cluster node that manages a VTEP.
type Connection struct {
	State    ConnState   `json:"state"`
	Endpoint string      `json:"endpoint"`
	Node     topology.ID `json:"node"`
	NodeName string      `json:"node-name,omitempty"`
	// Since is when the connection entered State.
	Since time.Time `json:"since"`
	// Error is why the connection was lost or could not be made.
	Error string `json:"error,omitempty"`
}

// String returns the text form (JSON).
func (c Connection) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ParseConnection parses the text form of a Connection; its errors wrap
// nsdb.ErrInvalid.
func ParseConnection(s string) (Connection, error) {
	var c Connection
	if len(s) > maxConnectionText {
		return c, fmt.Errorf("%w: VTEP connection state: %d bytes", nsdb.ErrInvalid, len(s))
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return Connection{}, fmt.Errorf("%w: VTEP connection state: %v", nsdb.ErrInvalid, err)
	}
	switch c.State {
	case ConnConnecting, ConnConnected, ConnDisconnected:
	default:
		return Connection{}, fmt.Errorf("%w: VTEP connection state %q", nsdb.ErrInvalid, c.State)
	}
	return c, nil
}

// Binding is one binding of a VTEP with what it implies in the NSDB.
type Binding struct {
	PortName string      `json:"port-name"`
	VLAN     uint16      `json:"vlan"`
	Bridge   topology.ID `json:"bridge"`
	// BridgeName and VNI are the bridge's (VNI 0: not prepared yet).
	BridgeName string `json:"bridge-name,omitempty"`
	VNI        uint32 `json:"vni,omitempty"`
	// Port is the bridge's VxLAN port toward the VTEP; zero when it does
	// not exist yet.
	Port topology.ID `json:"port,omitzero"`
}

// FloodingProxy is the host to which a VTEP sends the frames it floods.
type FloodingProxy struct {
	Host     topology.ID `json:"host"`
	HostName string      `json:"host-name,omitempty"`
	Addr     netip.Addr  `json:"addr"`
}

// Status is a VTEP's gateway status.
type Status struct {
	ID   topology.ID `json:"id"`
	Name string      `json:"name,omitempty"`
	// Owner is the cluster node managing the VTEP (zero: none).
	Owner     topology.ID `json:"owner,omitzero"`
	OwnerName string      `json:"owner-name,omitempty"`
	// Connection is the owner's OVSDB connection state, ConnUnmanaged
	// without an owner.
	Connection ConnState `json:"connection"`
	Endpoint   string    `json:"endpoint,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Error      string    `json:"error,omitempty"`
	// TunnelIPs are the VTEP's VXLAN addresses, as its database lists
	// them (none until a manager has read them).
	TunnelIPs []netip.Addr `json:"tunnel-ips,omitempty"`
	// FloodingProxy is the flooding proxy of the VTEP's tunnel zone.
	FloodingProxy *FloodingProxy `json:"flooding-proxy,omitempty"`
	Bindings      []Binding      `json:"bindings"`
}

// ReadStatus reads the status of the VTEP with id.
func ReadStatus(ctx context.Context, c nsdb.Client, id topology.ID) (Status, error) {
	v, _, err := getVTEP(ctx, c.Store(), id)
	if err != nil {
		return Status{}, err
	}
	st := Status{ID: v.ID, Name: v.Name, Connection: ConnUnmanaged, Bindings: []Binding{}}
	keys := c.StateKeys()
	if owner, err := keys.Get(ctx, nsdb.KeyVTEPManager(), id); err != nil {
		return Status{}, err
	} else if len(owner) > 0 {
		st.Owner, _ = topology.ParseID(owner[0].Value)
	}
	if cs, err := keys.Get(ctx, nsdb.KeyVTEPConnectionState(), id); err != nil {
		return Status{}, err
	} else if len(cs) > 0 && !st.Owner.IsZero() {
		if conn, err := ParseConnection(cs[0].Value); err == nil && conn.Node == st.Owner {
			st.OwnerName, st.Connection, st.Endpoint, st.Since, st.Error = conn.NodeName, conn.State, conn.Endpoint, conn.Since, conn.Error
		}
	}
	if !st.Owner.IsZero() && st.Connection == ConnUnmanaged {
		st.Connection = ConnConnecting // owned, nothing published yet
	}
	if cfg, err := keys.Get(ctx, nsdb.KeyVTEPConfig(), id); err != nil {
		return Status{}, err
	} else if len(cfg) > 0 {
		if vc, err := nsdb.ParseVTEPConfig(cfg[0].Value); err == nil {
			st.TunnelIPs = vc.TunnelIPs
		}
	}
	if !v.TunnelZone.IsZero() {
		fp, err := keys.Get(ctx, nsdb.KeyFloodingProxy(), v.TunnelZone)
		if err != nil {
			return Status{}, err
		}
		if len(fp) > 0 {
			if p, err := nsdb.ParseFloodingProxy(fp[0].Value); err == nil {
				st.FloodingProxy = &FloodingProxy{Host: p.Host, Addr: p.Addr}
				if hv, err := c.Store().Get(ctx, topology.KindHost, p.Host); err == nil {
					st.FloodingProxy.HostName = hv.Object.ObjectName()
				}
			}
		}
	}
	for _, b := range v.Bindings {
		sb := Binding{PortName: b.PortName, VLAN: b.VLAN, Bridge: b.Bridge}
		if bv, err := c.Store().Get(ctx, topology.KindBridge, b.Bridge); err == nil {
			br := bv.Object.(*topology.Bridge)
			sb.BridgeName, sb.VNI = br.Name, br.VNI
		}
		if _, err := c.Store().Get(ctx, topology.KindPort, PortID(b.Bridge, id)); err == nil {
			sb.Port = PortID(b.Bridge, id)
		} else if !errors.Is(err, nsdb.ErrNotFound) {
			return Status{}, err
		}
		st.Bindings = append(st.Bindings, sb)
	}
	return st, nil
}
