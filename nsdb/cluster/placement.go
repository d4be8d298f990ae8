package cluster

import (
	"context"

	"github.com/hivenet/hivenet/topology"
)

// Service is a piece of logic a cluster node runs: Run runs until ctx ends
// (returning ctx's error or nil) or fails (returning another error, after
// which the node restarts it with backoff, unless the error wraps
// ErrPermanent). Name must satisfy nsdb.ValidName and be unique on a node;
// nodes agree on a service by its name.
type Service interface {
	Name() string
	Run(ctx context.Context) error
}

// EntityService is a service with one instance per entity (a VTEP, say):
// RunEntity runs the instance for entity id while this node owns it, until
// ctx ends.
type EntityService interface {
	Name() string
	RunEntity(ctx context.Context, id topology.ID) error
}

// Placement says where in the cluster a service runs.
type Placement string

// Placements.
const (
	// EveryNode runs the service on every node that enables it.
	EveryNode Placement = "every-node"
	// Leader runs one instance in the whole cluster, on the node that wins
	// the service's election (ElectionName); the others wait as standbys.
	Leader Placement = "leader"
	// PerEntity runs one instance per entity on the node that owns the
	// entity's first-write-wins state key (see Node.AddPerEntity).
	PerEntity Placement = "per-entity"
)
