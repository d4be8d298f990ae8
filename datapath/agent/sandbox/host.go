package sandbox

import (
	"context"
	"net/netip"
	"sync"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Host is one host of the cluster: its datapath, its agent and the
// agent's NSDB client.
type Host struct {
	Name     string
	ID       topology.ID
	Underlay netip.Addr
	Datapath *inproc.Datapath

	mu     sync.Mutex
	agent  *agent.Agent
	client nsdb.Client
	store  *localstore.Store
	reg    *registered
	cancel context.CancelFunc
	done   chan error
}

// StateStore returns the local flow-state store of the host's current
// agent (nil without Config.FlowStateDir).
func (h *Host) StateStore() *localstore.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.store
}

// Agent returns the host's current agent.
func (h *Host) Agent() *agent.Agent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.agent
}

// Client returns the NSDB client of the host's current agent.
func (h *Host) Client() nsdb.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.client
}

// stopAgent stops h's agent and closes its NSDB client.
func (h *Host) stopAgent() error {
	client, err := h.killAgent()
	if client != nil {
		client.Close()
	}
	return err
}

// killAgent stops h's agent and its flow-state store and returns its NSDB
// client, still open (nil if no agent ran).
func (h *Host) killAgent() (nsdb.Client, error) {
	h.mu.Lock()
	cancel, done, client, store, reg := h.cancel, h.done, h.client, h.store, h.reg
	h.cancel, h.client, h.store, h.reg = nil, nil, nil, nil
	h.mu.Unlock()
	if cancel == nil {
		return nil, nil
	}
	cancel()
	err := <-done
	if store != nil {
		store.Close()
	}
	if reg != nil {
		reg.unregisterAll()
	}
	return client, err
}
