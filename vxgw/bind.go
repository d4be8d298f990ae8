package vxgw

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Errors of this package; test them with errors.Is.
var (
	// ErrBound: the VTEP's port and VLAN are already bound to another
	// bridge.
	ErrBound = errors.New("vxgw: port and VLAN already bound to another bridge")
	// ErrVNIExhausted: the VNI sequence went past the 24 bits of a VNI.
	ErrVNIExhausted = errors.New("vxgw: no VNI left")
)

// MinVNI is the first VNI the gateway hands out; lower ones are refused.
const MinVNI = 10000

// maxVNI bounds VNIs: they are 24-bit.
const maxVNI = 1<<24 - 1

// commitAttempts bounds the retries of a binding write that lost a race.
const commitAttempts = 8

// PortID returns the ID of bridge's VxLAN port toward vtep: the same on
// every node, so that concurrent writers agree on it.
func PortID(bridge, vtep topology.ID) topology.ID {
	return topology.NameID(topology.KindPort, "vxgw/"+bridge.String()+"/"+vtep.String())
}

// PortName returns the name of the VxLAN port of the bridge named bridge
// toward the VTEP named vtep.
func PortName(bridge, vtep string) string { return "vxgw-" + bridge + "-" + vtep }

// Bind binds port b.PortName, VLAN b.VLAN of the VTEP to b.Bridge in one
// transaction: the bridge gets a VNI if it has none, the VTEP the binding,
// and the bridge a VxLAN port toward the VTEP if it has none. Binding again
// what is bound changes nothing; binding a port and VLAN bound to another
// bridge fails with ErrBound. It returns the VTEP as written.
func Bind(ctx context.Context, c nsdb.Client, vtep topology.ID, b topology.VTEPBinding) (*topology.VTEP, error) {
	var vni uint32 // drawn once: a retry reuses it
	for attempt := 1; ; attempt++ {
		v, ver, err := getVTEP(ctx, c.Store(), vtep)
		if err != nil {
			return nil, err
		}
		var ops []nsdb.Op
		i := slices.IndexFunc(v.Bindings, func(x topology.VTEPBinding) bool { return x.PortName == b.PortName && x.VLAN == b.VLAN })
		switch {
		case i >= 0 && v.Bindings[i].Bridge != b.Bridge:
			return nil, fmt.Errorf("%w: %s vlan %d of VTEP %s", ErrBound, b.PortName, b.VLAN, v.Name)
		case i < 0:
			v.Bindings = append(v.Bindings, b)
			ops = append(ops, nsdb.Update(v, ver))
		default:
			ops = append(ops, nsdb.Check(topology.KindVTEP, vtep, ver))
		}
		bops, err := bridgeOps(ctx, c, v, b.Bridge, &vni)
		if err != nil {
			return nil, err
		}
		_, err = c.Store().Commit(ctx, append(ops, bops...)...)
		if err == nil {
			return v, nil
		}
		if !retryable(err) || attempt == commitAttempts {
			return nil, fmt.Errorf("vxgw: bind %s vlan %d of VTEP %s: %w", b.PortName, b.VLAN, v.Name, err)
		}
	}
}

// Unbind removes the binding of port portName, VLAN vlan from the VTEP,
// and the bridge's VxLAN port toward the VTEP when it was the bridge's last
// binding there. It returns nsdb.ErrNotFound when no such binding exists.
// The bridge keeps its VNI.
func Unbind(ctx context.Context, c nsdb.Client, vtep topology.ID, portName string, vlan uint16) error {
	for attempt := 1; ; attempt++ {
		v, ver, err := getVTEP(ctx, c.Store(), vtep)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(v.Bindings, func(x topology.VTEPBinding) bool { return x.PortName == portName && x.VLAN == vlan })
		if i < 0 {
			return fmt.Errorf("vxgw: %s vlan %d of VTEP %s is not bound: %w", portName, vlan, v.Name, nsdb.ErrNotFound)
		}
		bridge := v.Bindings[i].Bridge
		v.Bindings = slices.Delete(v.Bindings, i, i+1)
		ops := []nsdb.Op{nsdb.Update(v, ver)}
		if !bound(v, bridge) {
			if _, err := c.Store().Get(ctx, topology.KindPort, PortID(bridge, vtep)); err == nil {
				ops = append(ops, nsdb.Delete(topology.KindPort, PortID(bridge, vtep), nsdb.AnyVersion))
			} else if !errors.Is(err, nsdb.ErrNotFound) {
				return err
			}
		}
		_, err = c.Store().Commit(ctx, ops...)
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt == commitAttempts {
			return fmt.Errorf("vxgw: unbind %s vlan %d of VTEP %s: %w", portName, vlan, v.Name, err)
		}
	}
}

// Prepare makes the NSDB agree with the VTEP's bindings, as Bind would
// have written them: every bound bridge gets a VNI and a VxLAN port toward
// the VTEP, and the VxLAN ports toward it of bridges no longer bound are
// deleted. It reports whether it wrote anything.
func Prepare(ctx context.Context, c nsdb.Client, vtep topology.ID) (bool, error) {
	vnis := map[topology.ID]*uint32{}
	for attempt := 1; ; attempt++ {
		v, ver, err := getVTEP(ctx, c.Store(), vtep)
		if err != nil {
			return false, err
		}
		ops := []nsdb.Op{nsdb.Check(topology.KindVTEP, vtep, ver)}
		done := map[topology.ID]bool{}
		for _, b := range v.Bindings {
			if done[b.Bridge] {
				continue
			}
			done[b.Bridge] = true
			if vnis[b.Bridge] == nil {
				vnis[b.Bridge] = new(uint32)
			}
			bops, err := bridgeOps(ctx, c, v, b.Bridge, vnis[b.Bridge])
			if err != nil {
				return false, err
			}
			ops = append(ops, bops...)
		}
		ports, err := c.Store().List(ctx, topology.KindPort)
		if err != nil {
			return false, err
		}
		for _, pv := range ports {
			p := pv.Object.(*topology.Port)
			if p.VTEP == vtep && !done[p.Bridge] {
				ops = append(ops, nsdb.Delete(topology.KindPort, p.ID, pv.Version))
			}
		}
		if !slices.ContainsFunc(ops, func(op nsdb.Op) bool { return op.Type != nsdb.OpCheck }) {
			return false, nil
		}
		_, err = c.Store().Commit(ctx, ops...)
		if err == nil {
			return true, nil
		}
		if !retryable(err) || attempt == commitAttempts {
			return false, fmt.Errorf("vxgw: prepare VTEP %s: %w", v.Name, err)
		}
	}
}

// bridgeOps returns the ops that give bridge a VNI (drawing *vni from the
// sequence once, if the bridge has none) and a VxLAN port toward v, and
// check the bridge's version otherwise.
func bridgeOps(ctx context.Context, c nsdb.Client, v *topology.VTEP, bridge topology.ID, vni *uint32) ([]nsdb.Op, error) {
	bv, err := c.Store().Get(ctx, topology.KindBridge, bridge)
	if err != nil {
		return nil, fmt.Errorf("vxgw: bridge %s: %w", bridge, err)
	}
	br := bv.Object.(*topology.Bridge)
	var ops []nsdb.Op
	if br.VNI == 0 {
		if *vni == 0 {
			n, err := c.Sequences().Next(ctx, nsdb.SeqVxGWTunnelKey())
			if err != nil {
				return nil, fmt.Errorf("vxgw: VNI for bridge %s: %w", br.Name, err)
			}
			if n < MinVNI || n > maxVNI {
				return nil, fmt.Errorf("%w: the sequence gave %d", ErrVNIExhausted, n)
			}
			*vni = uint32(n)
		}
		br.VNI = *vni
		ops = append(ops, nsdb.Update(br, bv.Version))
	} else {
		ops = append(ops, nsdb.Check(topology.KindBridge, bridge, bv.Version))
	}
	id := PortID(bridge, v.ID)
	if _, err := c.Store().Get(ctx, topology.KindPort, id); errors.Is(err, nsdb.ErrNotFound) {
		ops = append(ops, nsdb.Create(&topology.Port{ID: id, Name: PortName(br.Name, v.Name), Bridge: bridge, VTEP: v.ID}))
	} else if err != nil {
		return nil, err
	}
	return ops, nil
}

func getVTEP(ctx context.Context, s nsdb.Reader, id topology.ID) (*topology.VTEP, nsdb.Version, error) {
	vv, err := s.Get(ctx, topology.KindVTEP, id)
	if err != nil {
		return nil, 0, fmt.Errorf("vxgw: VTEP %s: %w", id, err)
	}
	return vv.Object.(*topology.VTEP), vv.Version, nil
}

// bound reports whether some binding of v names bridge.
func bound(v *topology.VTEP, bridge topology.ID) bool {
	return slices.ContainsFunc(v.Bindings, func(b topology.VTEPBinding) bool { return b.Bridge == bridge })
}

// retryable reports whether a commit lost a race that a retry may win.
func retryable(err error) bool {
	return errors.Is(err, nsdb.ErrConflict) || errors.Is(err, nsdb.ErrExists) || errors.Is(err, nsdb.ErrNotFound) && isOpOnPort(err)
}

// isOpOnPort reports whether err is a failed op on a port (deleted by
// someone else between the read and the commit).
func isOpOnPort(err error) bool {
	var oe *nsdb.OpError
	return errors.As(err, &oe) && oe.Op.Kind == topology.KindPort
}
