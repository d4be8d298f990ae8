package sandbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// StartVM plugs a VM into the port named portName on its host and starts
// it; it waits (until ctx ends) for the host's agent to bind the port.
func (c *Cluster) StartVM(ctx context.Context, portName string, cfg VMConfig) (*VM, error) {
	p, ok := c.Port(portName)
	if !ok {
		return nil, fmt.Errorf("sandbox: no port %q", portName)
	}
	h, ok := c.HostOf(p)
	if !ok {
		return nil, fmt.Errorf("sandbox: port %q is not bound to a running host", portName)
	}
	ep, err := WaitEndpoint(ctx, h, p.ID)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = portName
	}
	vm := NewVM(cfg, ep)
	c.mu.Lock()
	c.byName[portName], c.byName[cfg.Name] = vm, vm
	c.mu.Unlock()
	c.vms.Add(1)
	go func() {
		defer c.vms.Done()
		vm.Run(c.ctx)
	}()
	return vm, nil
}

// WaitEndpoint waits until h's agent binds port and returns the endpoint
// of its datapath port.
func WaitEndpoint(ctx context.Context, h *Host, port topology.ID) (*inproc.Endpoint, error) {
	for {
		if n, ok := h.Agent().LocalPort(port); ok {
			return h.Datapath.Endpoint(n)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sandbox: port %v not bound on %s: %w", port, h.Name, ctx.Err())
		case <-tick():
		}
	}
}

// VM returns the VM started on the port named name, or the VM named name.
func (c *Cluster) VM(name string) (*VM, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, ok := c.byName[name]
	return vm, ok
}

// MoveVM migrates the VM started on the port named portName to host, as a
// live migration does: the port's binding moves in the NSDB, the host's
// agent binds it (loading the port's flow state from the previous host
// first, with Config.FlowStateDir) and announces it active, and the VM,
// plugged into the new datapath port, announces itself with a gratuitous
// ARP. It returns once the port is active on host.
func (c *Cluster) MoveVM(ctx context.Context, portName, host string) error {
	vm, ok := c.VM(portName)
	if !ok {
		return fmt.Errorf("sandbox: no VM started on port %q", portName)
	}
	h, ok := c.hosts[host]
	if !ok {
		return fmt.Errorf("sandbox: no host %q", host)
	}
	p, ok := c.Port(portName)
	if !ok {
		return fmt.Errorf("sandbox: no port %q", portName)
	}
	id := p.ID
	for try := 0; ; try++ {
		v, err := c.admin.Store().Get(ctx, topology.KindPort, id)
		if err != nil {
			return fmt.Errorf("sandbox: moving %s: %w", portName, err)
		}
		np := v.Object.Clone().(*topology.Port)
		np.Host = h.ID
		err = c.Commit(ctx, nsdb.Update(np, v.Version))
		if err == nil {
			break
		}
		// An agent keeping the port's tunnel key may have updated it.
		if !errors.Is(err, nsdb.ErrConflict) || try == 5 {
			return fmt.Errorf("sandbox: moving %s: %w", portName, err)
		}
	}
	c.mu.Lock()
	for i := range c.topo.Ports {
		if c.topo.Ports[i].ID == id {
			c.topo.Ports[i].Host = h.ID
		}
	}
	c.mu.Unlock()
	ep, err := WaitEndpoint(ctx, h, id)
	if err != nil {
		return err
	}
	vm.plug(ep)
	c.vms.Add(1)
	go func() {
		defer c.vms.Done()
		vm.Run(c.ctx)
	}()
	err = Eventually(ctx, portName+" active on "+host, func() bool {
		vs, err := c.admin.StateKeys().Get(ctx, nsdb.KeyPortActive(), id)
		if err != nil {
			return false
		}
		for _, kv := range vs {
			if st, err := nsdb.ParsePortState(kv.Value); err == nil && st.Host == h.ID {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	return vm.Announce()
}
