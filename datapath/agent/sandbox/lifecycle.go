package sandbox

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/nsdb"
)

// Restart stops host's agent (its NSDB session ends, its datapath keeps
// its ports and flows) and starts a new one on the same datapath.
func (c *Cluster) Restart(ctx context.Context, host string) error {
	if err := c.StopAgent(host); err != nil {
		return err
	}
	return c.StartAgent(ctx, host)
}

// StopAgent stops host's agent and closes its NSDB client, which ends its
// session: its ephemeral state (host alive, ports active, learned
// entries) vanishes. The host's datapath keeps its ports and flows.
func (c *Cluster) StopAgent(host string) error {
	h, ok := c.hosts[host]
	if !ok {
		return fmt.Errorf("sandbox: no host %q", host)
	}
	if err := h.stopAgent(); err != nil {
		return fmt.Errorf("sandbox: stopping %s: %w", host, err)
	}
	return nil
}

// StartAgent starts a new agent for host, with a new NSDB client, on the
// host's datapath, and waits until it is ready.
func (c *Cluster) StartAgent(ctx context.Context, host string) error {
	h, ok := c.hosts[host]
	if !ok {
		return fmt.Errorf("sandbox: no host %q", host)
	}
	if err := c.startAgent(ctx, h, nil); err != nil {
		return err
	}
	return c.waitReady(ctx, h)
}

// KillAgent stops host's agent the way a crash does as far as the NSDB
// can tell: its session stays open, so its ephemeral state (host alive,
// ports active, NAT blocks claimed) lingers until the returned client is
// closed (the NSDB expiring a dead agent's session). The datapath keeps its
// ports and flows; the flow-state store keeps what it wrote. Start a new
// agent with StartAgent.
func (c *Cluster) KillAgent(host string) (nsdb.Client, error) {
	h, ok := c.hosts[host]
	if !ok {
		return nil, fmt.Errorf("sandbox: no host %q", host)
	}
	client, err := h.killAgent()
	if err != nil {
		return client, fmt.Errorf("sandbox: stopping %s: %w", host, err)
	}
	return client, nil
}

// TakeOver replaces host's agent the way a fast reboot does: a new agent
// starts while the current one still runs and forwards, and loads the flow
// state of the host's ports from the store the current one writes (it
// needs Config.FlowStateDir); then beforeStop, if set, looks at the new
// agent, the current one is stopped (as StopAgent does), and the new one
// sets the datapath up and starts. The current agent's metrics are
// unregistered when the new one starts. TakeOver returns once the new
// agent is ready.
func (c *Cluster) TakeOver(ctx context.Context, host string, beforeStop func(next *agent.Agent) error) error {
	h, ok := c.hosts[host]
	if !ok {
		return fmt.Errorf("sandbox: no host %q", host)
	}
	h.mu.Lock()
	cancel, done, client, store, reg := h.cancel, h.done, h.client, h.store, h.reg
	h.mu.Unlock()
	if cancel == nil {
		return fmt.Errorf("sandbox: no agent running on %s", host)
	}
	if reg != nil {
		reg.unregisterAll()
	}
	stop := func(ctx context.Context, next *agent.Agent) error {
		if beforeStop != nil {
			if err := beforeStop(next); err != nil {
				return err
			}
		}
		cancel()
		err := <-done
		client.Close()
		if store != nil {
			store.Close()
		}
		return err
	}
	if err := c.startAgent(ctx, h, stop); err != nil {
		return err
	}
	return c.waitReady(ctx, h)
}
