package cluster

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// State is the state of one service on one node.
type State string

// Service states.
const (
	// StateWaiting: the service is not running here, waiting to be placed
	// (a leader-placed service on a standby node; a node whose NSDB
	// session is being re-established).
	StateWaiting State = "waiting"
	// StateRunning: the service runs on this node (for PerEntity services:
	// the node watches the entities and runs one instance per entity it
	// owns).
	StateRunning State = "running"
	// StateRestarting: the service failed and waits out its backoff before
	// running again.
	StateRestarting State = "restarting"
	// StateFailed: the service failed permanently (its error wraps
	// ErrPermanent) and is not restarted.
	StateFailed State = "failed"
	// StateStopped: the service returned nil on its own, or the node is
	// shutting down.
	StateStopped State = "stopped"
)

// MaxStatusBytes bounds a node's published status; larger values are
// refused by DecodeNodeStatus.
const MaxStatusBytes = 256 << 10

// Status is the whole cluster's status, as its nodes publish it.
type Status struct {
	// Nodes lists every live node, sorted by name.
	Nodes []NodeStatus `json:"nodes"`
	// Leaders lists every leader-placed service some node enables, sorted
	// by service name, with the node that holds its election (none when the
	// election has no leader right now).
	Leaders []LeaderStatus `json:"leaders"`
}

// NodeStatus is one cluster node's report.
type NodeStatus struct {
	// ID is topology.NameID(topology.KindHost, Name).
	ID   topology.ID `json:"id"`
	Name string      `json:"name"`
	// Started is when the node started; Updated when it last wrote this
	// report.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Services lists the node's enabled services, sorted by name.
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service on one node.
type ServiceStatus struct {
	Name      string    `json:"name"`
	Placement Placement `json:"placement"`
	State     State     `json:"state"`
	// Leader is true on the node that holds a leader-placed service's
	// election.
	Leader bool `json:"leader,omitempty"`
	// Entities lists the entities a PerEntity service owns on this node,
	// sorted.
	Entities []topology.ID `json:"entities,omitempty"`
	// Restarts counts restarts after failures since the node started.
	Restarts int `json:"restarts"`
	// LastError is the last failure, if any.
	LastError string `json:"last-error,omitempty"`
	// Since is when the service entered State.
	Since time.Time `json:"since"`
}

// LeaderStatus names the node that leads a leader-placed service.
type LeaderStatus struct {
	Service string `json:"service"`
	// Node and NodeName are zero when the election has no leader.
	Node     topology.ID `json:"node,omitzero"`
	NodeName string      `json:"node-name,omitempty"`
}

// NodeID returns the ID of the cluster node named name.
func NodeID(name string) topology.ID { return topology.NameID(topology.KindHost, name) }

// ElectionName returns the NSDB election of a leader-placed service.
func ElectionName(service string) string { return "cluster." + service }

// ErrBadStatus is wrapped by DecodeNodeStatus's errors.
var ErrBadStatus = errors.New("cluster: bad node status")

// DecodeNodeStatus parses a node's published status, as stored in
// nsdb.KeyClusterNode. It rejects values over MaxStatusBytes, unknown
// fields, trailing data and reports without a name.
func DecodeNodeStatus(b []byte) (NodeStatus, error) {
	if len(b) > MaxStatusBytes {
		return NodeStatus{}, fmt.Errorf("%w: %d bytes, limit %d", ErrBadStatus, len(b), MaxStatusBytes)
	}
	var ns NodeStatus
	if err := strictUnmarshal(b, &ns); err != nil {
		return NodeStatus{}, fmt.Errorf("%w: %w", ErrBadStatus, err)
	}
	if ns.Name == "" || ns.ID.IsZero() {
		return NodeStatus{}, fmt.Errorf("%w: no node name or ID", ErrBadStatus)
	}
	return ns, nil
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// ReadStatus reads the whole cluster's status from the NSDB: every live
// node's report and, for each leader-placed service any node reports, the
// current holder of its election. Reports that do not decode are skipped.
func ReadStatus(ctx context.Context, c nsdb.Client) (Status, error) {
	w, err := c.StateKeys().WatchAll(ctx, nsdb.KeyClusterNode())
	if err != nil {
		return Status{}, fmt.Errorf("cluster: read status: %w", err)
	}
	evs, err := w.Next(ctx) // the first batch is the current state, at once
	w.Close()
	if err != nil {
		return Status{}, fmt.Errorf("cluster: read status: %w", err)
	}
	st := Status{Nodes: []NodeStatus{}, Leaders: []LeaderStatus{}}
	names := make(map[topology.ID]string)
	leaderSvcs := make(map[string]bool)
	for _, ev := range evs {
		if len(ev.Values) == 0 {
			continue
		}
		ns, err := DecodeNodeStatus([]byte(ev.Values[0].Value))
		if err != nil {
			continue
		}
		st.Nodes = append(st.Nodes, ns)
		names[ns.ID] = ns.Name
		for _, s := range ns.Services {
			if s.Placement == Leader {
				leaderSvcs[s.Name] = true
			}
		}
	}
	slices.SortFunc(st.Nodes, func(a, b NodeStatus) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), bytes.Compare(a.ID[:], b.ID[:]))
	})
	for _, svc := range slices.Sorted(maps.Keys(leaderSvcs)) {
		l, err := c.Elections().Leader(ctx, ElectionName(svc))
		if err != nil {
			return Status{}, fmt.Errorf("cluster: read leader of %s: %w", svc, err)
		}
		ls := LeaderStatus{Service: svc}
		if !l.IsZero() {
			if id, err := topology.ParseID(l.Value); err == nil {
				ls.Node, ls.NodeName = id, names[id]
			}
		}
		st.Leaders = append(st.Leaders, ls)
	}
	return st, nil
}
