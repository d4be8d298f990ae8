package sandbox

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/datapath/inproc"
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
