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
	return slog.Group("", slog.String(key, nameIn(s, k, id)), slog.String(key+"-id", id.String()))
}

// nameIn is object k/id's name in s, or its ID when it has none (or is
// no longer in s).
func nameIn(s *topology.Snapshot, k topology.Kind, id topology.ID) string {
	if o, ok := s.Object(k, id); ok {
		if n := o.ObjectName(); n != "" {
			return n
		}
	}
	return id.String()
}

// hostAttr names this agent's host.
func (a *Agent) hostAttr() slog.Attr { return a.named("host", topology.KindHost, a.host) }

// portName is port's name in the current topology, or its ID.
func (a *Agent) portName(port topology.ID) string {
	return nameIn(a.world.Load().snap, topology.KindPort, port)
}
