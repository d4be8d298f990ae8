package sandbox

import (
	"context"
	"fmt"
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
	if err := c.startAgent(ctx, h); err != nil {
		return err
	}
	return c.waitReady(ctx, h)
}
