package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/datapath"
)

// setupDatapath makes the overlay tunnel ports, opens one upcall socket
// per worker and points every existing port at them. It never flushes the
// datapath's flows.
func (a *Agent) setupDatapath(ctx context.Context) error {
	for i := range a.cfg.Workers {
		s, err := a.dp.OpenUpcalls()
		if err != nil {
			a.closeWorkers()
			return fmt.Errorf("agent: upcall socket: %w", err)
		}
		a.pids = append(a.pids, s.PID())
		a.workers = append(a.workers, newWorker(a, i, s))
	}
	a.retrier = newWorker(a, -1, nil)
	if len(a.pids) > 0 {
		// Packets too large for a flow the retrier installs come up to
		// the first worker.
		a.retrier.tr.UpcallPID = a.pids[0]
	}
	ports, err := a.dp.Ports(ctx)
	if err != nil {
		return fmt.Errorf("agent: list datapath ports: %w", err)
	}
	byName := make(map[string]datapath.Port, len(ports))
	for _, p := range ports {
		byName[p.Name] = p
	}
	w := emptyWorld()
	// Packets from the overlay all go to the first worker, in order: a
	// flow-state message is imported before the packets that follow it
	// (flow-state packets and the packets after them have the same outer
	// headers, so one socket keeps them in order).
	tunnelPIDs := a.pids[:1]
	ensure := func(spec datapath.PortSpec) (datapath.PortNumber, error) {
		if p, ok := byName[spec.Name]; ok && p.Type == spec.Type {
			return p.Number, nil
		}
		spec.UpcallPIDs = tunnelPIDs
		p, err := a.dp.CreatePort(ctx, spec)
		if err != nil {
			return 0, err
		}
		byName[p.Name] = p
		return p.Number, nil
	}
	n, err := ensure(datapath.PortSpec{Name: VXLANPortName, Type: datapath.PortVXLAN, DstPort: a.cfg.VXLANPort})
	if err != nil {
		return fmt.Errorf("agent: overlay VXLAN port: %w", err)
	}
	w.vxlan = n
	if n, err := ensure(datapath.PortSpec{Name: VTEPPortName, Type: datapath.PortVXLAN, DstPort: a.cfg.VTEPPort}); err == nil {
		w.vtep, w.hasVTEP = n, true
	} else {
		a.log.Warn("no VTEP tunnel port: traffic to and from hardware VTEPs unusable", "udp-port", a.cfg.VTEPPort, "err", err)
	}
	if !a.cfg.DisableGRE {
		n, err := ensure(datapath.PortSpec{Name: GREPortName, Type: datapath.PortGRE})
		if err == nil {
			w.gre, w.hasGRE = n, true
		} else {
			// GRE is optional (no gre module, or the in-process datapath).
			a.log.Info("no GRE overlay port: GRE tunnel zones unusable", "err", err)
		}
	}
	for _, p := range byName {
		if p.Number == datapath.LocalPort {
			continue
		}
		pids := a.portPIDs()
		if p.Number == w.vxlan || (w.hasGRE && p.Number == w.gre) || (w.hasVTEP && p.Number == w.vtep) {
			pids = tunnelPIDs
		}
		err := a.dp.SetPortUpcallPIDs(ctx, p.Number, pids)
		if err != nil && len(pids) > 1 && (errors.Is(err, datapath.ErrNotSupported) || errors.Is(err, datapath.ErrInvalid)) {
			a.singlePIDs(err)
			pids = a.portPIDs()
			err = a.dp.SetPortUpcallPIDs(ctx, p.Number, pids)
		}
		if err != nil {
			return fmt.Errorf("agent: upcall PIDs of port %s: %w", p.Name, err)
		}
	}
	a.world.Store(w)
	return nil
}

// portPIDs returns the upcall PIDs for a VM port: every worker's socket,
// or one of them once the datapath takes one PID per port.
func (a *Agent) portPIDs() []uint32 {
	if len(a.pids) <= 1 || !a.onePID.Load() {
		return a.pids
	}
	i := int(a.nextPID.Add(1)-1) % len(a.pids)
	return a.pids[i : i+1]
}

// singlePIDs records that the datapath refused several upcall PIDs for
// one port.
func (a *Agent) singlePIDs(err error) {
	if !a.onePID.Swap(true) {
		a.log.Info("the datapath takes one upcall PID per port: VM ports are spread over the workers", "err", err)
	}
}

// createVMPort creates the datapath port of a VM port's interface, with
// the upcall PIDs of portPIDs (falling back to one PID when the datapath
// refuses several).
func (a *Agent) createVMPort(ctx context.Context, ifc string) (datapath.Port, error) {
	pids := a.portPIDs()
	p, err := a.dp.CreatePort(ctx, datapath.PortSpec{Name: ifc, Type: datapath.PortNetdev, UpcallPIDs: pids})
	if err != nil && len(pids) > 1 && errors.Is(err, datapath.ErrNotSupported) {
		a.singlePIDs(err)
		p, err = a.dp.CreatePort(ctx, datapath.PortSpec{Name: ifc, Type: datapath.PortNetdev, UpcallPIDs: a.portPIDs()})
	}
	return p, err
}

// keepDispatch restores the datapath's per-port upcall dispatch if another
// program changed it (see datapath.DispatchKeeper).
func (a *Agent) keepDispatch(ctx context.Context) {
	k, ok := a.dp.(datapath.DispatchKeeper)
	if !ok {
		return
	}
	if restored, err := k.KeepVportDispatch(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("cannot check the datapath's upcall dispatch", "err", err)
	} else if restored {
		a.log.Warn("another program switched the datapath's upcall dispatch (ovs-dpctl?): restored per-port upcalls")
	}
}

// watchDispatch restores the dispatch as soon as the datapath reports a
// change, until ctx is done; without notifications the periodic check in
// tick is all there is.
func (a *Agent) watchDispatch(ctx context.Context) {
	w, ok := a.dp.(datapath.DispatchWatcher)
	if !ok {
		return
	}
	ch, err := w.WatchChanges(ctx)
	if err != nil {
		a.log.Info("no datapath change notifications: upcall dispatch checked every second", "err", err)
		return
	}
	for range ch {
		a.keepDispatch(ctx)
	}
}
