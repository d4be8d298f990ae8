package kernel

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/netlink"
)

// Features are the datapath user features (OVS_DP_F_*).
type Features uint32

// User features.
const (
	// FeatureUnaligned lets the kernel send the last attribute of upcalls
	// (the packet) unaligned, avoiding a copy.
	FeatureUnaligned Features = ovsh.DPFUnaligned
	// FeatureVportPIDs allows several upcall PIDs per vport.
	FeatureVportPIDs Features = ovsh.DPFVportPIDs
	// FeatureTCRecircSharing shares recirculation IDs with tc offload.
	FeatureTCRecircSharing Features = ovsh.DPFTCRecircSharing
	// FeatureDispatchUpcallPerCPU dispatches upcalls to per-CPU sockets
	// registered with Datapath.SetPerCPUUpcallPIDs, ignoring vport PIDs.
	FeatureDispatchUpcallPerCPU Features = ovsh.DPFDispatchUpcallPerCPU
)

// DefaultFeatures are requested by CreateDatapath when DatapathSpec.Features
// is zero.
const DefaultFeatures = FeatureUnaligned | FeatureVportPIDs

// String lists the feature names.
func (f Features) String() string {
	var names []string
	for _, x := range []struct {
		f Features
		n string
	}{{FeatureUnaligned, "unaligned"}, {FeatureVportPIDs, "vport-pids"},
		{FeatureTCRecircSharing, "tc-recirc-sharing"}, {FeatureDispatchUpcallPerCPU, "dispatch-upcall-per-cpu"}} {
		if f&x.f != 0 {
			names = append(names, x.n)
			f &^= x.f
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(names, "|")
}

// DatapathSpec describes a datapath to create.
type DatapathSpec struct {
	// Name is the datapath's name, also the name of its local port.
	Name string
	// UpcallPID receives upcalls of the local port (0: none).
	UpcallPID uint32
	// Features to request; zero means DefaultFeatures. Features the kernel
	// rejects with EOPNOTSUPP are dropped one by one (newest first) and the
	// creation retried; the result lists what was granted.
	Features Features
}

// DatapathInfo describes an existing datapath.
type DatapathInfo struct {
	Name     string
	IfIndex  int32
	Features Features
	Stats    DatapathStats
	// MasksCacheSize is the per-CPU mask cache size (0 if not reported).
	MasksCacheSize uint32
}

// DatapathStats are the flow-table counters of a datapath, including the
// megaflow statistics.
type DatapathStats struct {
	Hit, Missed, Lost, Flows uint64
	// MaskHit is the number of masks visited by lookups; MaskHit/(Hit+Missed)
	// is the average lookup cost.
	MaskHit  uint64
	Masks    uint32
	CacheHit uint64
}

func (c *Client) dpExchange(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags, ifindex int32, attrs []byte) ([]DatapathInfo, error) {
	var out []DatapathInfo
	err := c.exchange(ctx, op, c.dpFamily, cmd, ovsh.DatapathVersion, flags, ifindex, attrs, func(r reply) error {
		info, err := parseDatapath(r)
		if err != nil {
			return err
		}
		out = append(out, info)
		return nil
	})
	return out, err
}

func parseDatapath(r reply) (DatapathInfo, error) {
	info := DatapathInfo{IfIndex: r.ifindex}
	ad, err := netlink.NewAttributeDecoder(r.attrs)
	if err != nil {
		return info, fmt.Errorf("%w: %w", datapath.ErrMalformed, err)
	}
	for ad.Next() {
		switch ad.Type() {
		case ovsh.DPAttrName:
			info.Name = ad.String()
		case ovsh.DPAttrUserFeatures:
			info.Features = Features(ad.Uint32())
		case ovsh.DPAttrMasksCacheSize:
			info.MasksCacheSize = ad.Uint32()
		case ovsh.DPAttrStats:
			ad.Do(func(b []byte) error {
				if len(b) < ovsh.SizeofDPStats {
					return fmt.Errorf("%w: datapath stats of %d bytes", datapath.ErrMalformed, len(b))
				}
				info.Stats.Hit, info.Stats.Missed = ne.Uint64(b), ne.Uint64(b[8:])
				info.Stats.Lost, info.Stats.Flows = ne.Uint64(b[16:]), ne.Uint64(b[24:])
				return nil
			})
		case ovsh.DPAttrMegaflowStats:
			ad.Do(func(b []byte) error {
				if len(b) < ovsh.SizeofDPMegaflowStats {
					return fmt.Errorf("%w: megaflow stats of %d bytes", datapath.ErrMalformed, len(b))
				}
				info.Stats.MaskHit, info.Stats.Masks, info.Stats.CacheHit = ne.Uint64(b), ne.Uint32(b[8:]), ne.Uint64(b[16:])
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		return info, fmt.Errorf("%w: %w", datapath.ErrMalformed, err)
	}
	return info, nil
}

// CreateDatapath creates a datapath and returns a handle to it.
func (c *Client) CreateDatapath(ctx context.Context, spec DatapathSpec) (*Datapath, DatapathInfo, error) {
	want := spec.Features
	if want == 0 {
		want = DefaultFeatures
	}
	for {
		ae := netlink.NewAttributeEncoder()
		ae.String(ovsh.DPAttrName, spec.Name)
		ae.Uint32(ovsh.DPAttrUpcallPID, spec.UpcallPID)
		ae.Uint32(ovsh.DPAttrUserFeatures, uint32(want))
		attrs, err := ae.Encode()
		if err != nil {
			return nil, DatapathInfo{}, &datapath.OpError{Op: "datapath new", Err: err}
		}
		infos, err := c.dpExchange(ctx, "datapath new", ovsh.DPCmdNew, netlink.Echo|netlink.Create|netlink.Excl, 0, attrs)
		if errors.Is(err, datapath.ErrNotSupported) && want != 0 {
			// Drop the highest requested feature and retry.
			hi := Features(1) << 31
			for want&hi == 0 {
				hi >>= 1
			}
			c.log.Debug("datapath feature rejected, retrying without", "feature", hi.String())
			want &^= hi
			continue
		}
		if err != nil {
			return nil, DatapathInfo{}, err
		}
		if len(infos) != 1 {
			return nil, DatapathInfo{}, &datapath.OpError{Op: "datapath new",
				Err: fmt.Errorf("%w: %d replies", datapath.ErrMalformed, len(infos))}
		}
		return c.handle(infos[0]), infos[0], nil
	}
}

// OpenDatapath returns a handle to the existing datapath name.
func (c *Client) OpenDatapath(ctx context.Context, name string) (*Datapath, DatapathInfo, error) {
	info, err := c.GetDatapath(ctx, name)
	if err != nil {
		return nil, info, err
	}
	return c.handle(info), info, nil
}

// GetDatapath returns the datapath name.
func (c *Client) GetDatapath(ctx context.Context, name string) (DatapathInfo, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(ovsh.DPAttrName, name)
	attrs, _ := ae.Encode()
	infos, err := c.dpExchange(ctx, "datapath get", ovsh.DPCmdGet, 0, 0, attrs)
	if err != nil {
		return DatapathInfo{}, err
	}
	if len(infos) != 1 {
		return DatapathInfo{}, &datapath.OpError{Op: "datapath get", Err: fmt.Errorf("%w: %d replies", datapath.ErrMalformed, len(infos))}
	}
	return infos[0], nil
}

// Datapaths lists the datapaths.
func (c *Client) Datapaths(ctx context.Context) ([]DatapathInfo, error) {
	return c.dpExchange(ctx, "datapath dump", ovsh.DPCmdGet, netlink.Dump, 0, nil)
}

// DeleteDatapath deletes the datapath name with its ports and flows.
func (c *Client) DeleteDatapath(ctx context.Context, name string) error {
	ae := netlink.NewAttributeEncoder()
	ae.String(ovsh.DPAttrName, name)
	attrs, _ := ae.Encode()
	_, err := c.dpExchange(ctx, "datapath del", ovsh.DPCmdDel, 0, 0, attrs)
	return err
}

func (c *Client) handle(info DatapathInfo) *Datapath {
	return &Datapath{c: c, name: info.Name, ifindex: info.IfIndex}
}

// Datapath is a handle to one kernel datapath. It implements
// datapath.Datapath, datapath.FlowBatcher and datapath.FlowDeleter.
type Datapath struct {
	c       *Client
	name    string
	ifindex int32
}

var (
	_ datapath.Datapath    = (*Datapath)(nil)
	_ datapath.FlowBatcher = (*Datapath)(nil)
	_ datapath.FlowDeleter = (*Datapath)(nil)
)

// Name returns the datapath's name.
func (d *Datapath) Name() string { return d.name }

// IfIndex returns the ifindex of the datapath's local port.
func (d *Datapath) IfIndex() int32 { return d.ifindex }

// Info returns the datapath's current features and statistics.
func (d *Datapath) Info(ctx context.Context) (DatapathInfo, error) {
	infos, err := d.c.dpExchange(ctx, "datapath get", ovsh.DPCmdGet, 0, d.ifindex, nil)
	if err != nil {
		return DatapathInfo{}, err
	}
	if len(infos) != 1 {
		return DatapathInfo{}, &datapath.OpError{Op: "datapath get", Err: fmt.Errorf("%w: %d replies", datapath.ErrMalformed, len(infos))}
	}
	return infos[0], nil
}

// SetFeatures changes the datapath's user features.
func (d *Datapath) SetFeatures(ctx context.Context, f Features) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(ovsh.DPAttrUserFeatures, uint32(f))
	attrs, _ := ae.Encode()
	_, err := d.c.dpExchange(ctx, "datapath set", ovsh.DPCmdSet, 0, d.ifindex, attrs)
	return err
}

// KeepVportDispatch makes sure the datapath sends upcalls to its ports'
// upcall PIDs. Another program opening the datapath can switch it to
// per-CPU dispatch (ovs-dpctl of Open vSwitch 3.1 does, even for "show"),
// after which every upcall sent for a port PID is lost. If the datapath
// lacks FeatureVportPIDs or has FeatureDispatchUpcallPerCPU,
// KeepVportDispatch sets FeatureVportPIDs without per-CPU dispatch,
// keeping the other features, and reports true. Agents call it
// periodically (datapath/agent does).
func (d *Datapath) KeepVportDispatch(ctx context.Context) (restored bool, err error) {
	info, err := d.Info(ctx)
	if err != nil {
		return false, err
	}
	f := info.Features
	if f&FeatureVportPIDs != 0 && f&FeatureDispatchUpcallPerCPU == 0 {
		return false, nil
	}
	if err := d.SetFeatures(ctx, f&^FeatureDispatchUpcallPerCPU|FeatureVportPIDs); err != nil {
		return false, err
	}
	return true, nil
}

// WatchChanges reports changes made to the datapath by any program: the
// openvswitch module multicasts every datapath change (new features, upcall
// dispatch) to the ovs_datapath group. The returned channel receives a
// value after each change of this datapath (changes in quick succession may
// be coalesced) and is closed when ctx is done or the socket fails. Agents
// use it to restore their upcall dispatch at once (KeepVportDispatch)
// instead of at their next periodic check.
func (d *Datapath) WatchChanges(ctx context.Context) (<-chan struct{}, error) {
	const op = "watch datapath changes"
	if d.c.dial == nil || d.c.dpGroup == 0 {
		return nil, &datapath.OpError{Op: op, Err: datapath.ErrNotSupported}
	}
	conn, err := d.c.dial()
	if err != nil {
		return nil, &datapath.OpError{Op: op, Err: err}
	}
	if err := conn.JoinGroup(d.c.dpGroup); err != nil {
		_ = conn.Close()
		return nil, &datapath.OpError{Op: op, Err: err}
	}
	ch := make(chan struct{}, 1)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	go func() {
		defer close(ch)
		defer stop()
		defer conn.Close()
		for {
			msgs, err := conn.Receive()
			if err != nil {
				if ctx.Err() == nil {
					d.c.log.Debug("datapath change notifications stopped", "err", err)
				}
				return
			}
			for _, m := range msgs {
				if m.Header.Type != netlink.HeaderType(d.c.dpFamily) {
					continue
				}
				if r, err := parseReply(m.Data); err != nil || r.ifindex != d.ifindex {
					continue
				}
				select {
				case ch <- struct{}{}:
				default: // one pending notification is enough
				}
			}
		}
	}()
	return ch, nil
}

// SetPerCPUUpcallPIDs switches the datapath to per-CPU upcall dispatch:
// pids[i] receives the upcalls of CPU i (the kernel wraps around when there
// are fewer PIDs than CPUs). Vport upcall PIDs are then ignored. It fails
// with datapath.ErrNotSupported on kernels older than 5.15.
func (d *Datapath) SetPerCPUUpcallPIDs(ctx context.Context, features Features, pids []uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(ovsh.DPAttrUserFeatures, uint32(features|FeatureDispatchUpcallPerCPU))
	b := make([]byte, 0, 4*len(pids))
	for _, p := range pids {
		b = ne.AppendUint32(b, p)
	}
	ae.Bytes(ovsh.DPAttrPerCPUPIDs, b)
	attrs, _ := ae.Encode()
	_, err := d.c.dpExchange(ctx, "datapath set", ovsh.DPCmdSet, 0, d.ifindex, attrs)
	return err
}
