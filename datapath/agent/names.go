package agent

import (
	"log/slog"

	"github.com/hivenet/hivenet/topology"
)

// named returns log attributes naming object k/id: its name in the
// current topology under key, and its ID under key+"-id". Objects without a
// name (or no longer in the topology) are named by their ID.
func (a *Agent) named(key string, k topology.Kind, id topology.ID) slog.Attr {
	return namedIn(a.world.Load().snap, key, k, id)
}

// namedIn is named on snapshot s.
func namedIn(s *topology.Snapshot, key string, k topology.Kind, id topology.ID) slog.Attr {
	name := id.String()
	if o, ok := s.Object(k, id); ok {
		if n := o.ObjectName(); n != "" {
			name = n
		}
	}
	return slog.Group("", slog.String(key, name), slog.String(key+"-id", id.String()))
}

// hostAttr names this agent's host.
func (a *Agent) hostAttr() slog.Attr { return a.named("host", topology.KindHost, a.host) }

// portName is port's name in the current topology, or its ID.
func (a *Agent) portName(port topology.ID) string {
	if o, ok := a.world.Load().snap.Object(topology.KindPort, port); ok && o.ObjectName() != "" {
		return o.ObjectName()
	}
	return port.String()
}
