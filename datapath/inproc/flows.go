package inproc

import (
	"bytes"
	"context"
	"iter"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/datapath"
)

// flow is an installed megaflow.
type flow struct {
	ufid   datapath.UFID
	byUFID bool // identified by UFID, else by its unmasked key
	// key is the canonical unmasked key, packed (packedkey.go); mask the
	// canonical (explicit) mask, shared with other flows (masks.go).
	key   packedKey
	mask  *maskEntry
	kflat flatKey // the unmasked key, flattened
	sub   *subtable
	seq   uint64 // insertion order, for dumps

	acts atomic.Pointer[datapath.Actions]
	// own is the storage acts points to when the flow was installed; a
	// recycled flow reuses its capacity (recycle).
	own datapath.Actions
	// pins counts the packets running this flow's actions outside the
	// table lock (and dumps exporting it): a flow removed while pinned is
	// left to the garbage collector instead of being recycled.
	pins atomic.Int32

	packets, bytes atomic.Uint64
	used           atomic.Int64 // Monotonic() in ns at the last hit, 0 if never
	tcpFlags       atomic.Uint32
}

// match returns the flow's key and mask.
func (f *flow) match() datapath.Match {
	m := datapath.Match{Mask: f.mask.mask}
	f.key.get(&m.Key)
	return m
}

func (f *flow) hit(n int, tcpFlags uint16, now time.Duration) {
	f.packets.Add(1)
	f.bytes.Add(uint64(n))
	f.used.Store(int64(now))
	if fl := uint32(tcpFlags) & 0xff; fl != 0 && f.tcpFlags.Load()&fl != fl {
		f.tcpFlags.Or(fl)
	}
}

func (f *flow) clearStats() {
	f.packets.Store(0)
	f.bytes.Store(0)
	f.used.Store(0)
	f.tcpFlags.Store(0)
}

func (f *flow) stats() datapath.FlowStats {
	return datapath.FlowStats{Packets: f.packets.Load(), Bytes: f.bytes.Load()}
}

// export returns the flow as the kernel reports it: a key-identified flow
// with the key it was installed with, a UFID flow with its masked key.
func (f *flow) export() datapath.Flow {
	out := datapath.Flow{
		UFID:     f.ufid,
		Match:    f.match(),
		Actions:  slices.Clone(*f.acts.Load()),
		Stats:    f.stats(),
		TCPFlags: uint8(f.tcpFlags.Load()),
	}
	if u := f.used.Load(); u != 0 {
		out.Used = time.Duration(u).Truncate(time.Millisecond)
	}
	if f.byUFID {
		key := &out.Match.Key
		mk := key.Masked(&f.mask.mask)
		mk.Fields = key.Fields
		zeroAddrs(&mk) // masked-out addresses read back as 0.0.0.0 / ::
		if key.Unknown != "" || key.UnknownEncap != "" {
			h := exthdrsOf(key) & exthdrsOf(&f.mask.mask)
			if key.Unknown != "" {
				mk.Unknown = exthdrsAttr(h)
			} else {
				mk.UnknownEncap = exthdrsAttr(h)
			}
		}
		out.Match.Key = mk
	}
	return out
}

// prepareFlow validates f and builds the flow to install, reusing a
// recycled flow's memory: installing does not allocate.
func (d *Datapath) prepareFlow(f *datapath.Flow) (*flow, error) {
	nf, _ := d.flowPool.Get().(*flow)
	if nf == nil {
		nf = new(flow)
	}
	// The canonical key and mask are built on the stack, 512 bytes each;
	// the flow keeps the key packed and the mask shared (masks.go).
	var key, mask datapath.FlowKey
	err := validateMatch(&f.Match, &key, &mask)
	if err == nil {
		err = validateActions(f.Actions, maskedActionKey(&key, &mask), 0)
	}
	if err != nil {
		d.flowPool.Put(nf) // not referenced anywhere
		return nil, err
	}
	nf.ufid, nf.byUFID = f.UFID, !f.UFID.IsZero()
	nf.mask = d.masks.intern(&mask)
	nf.sub, nf.seq = nil, 0
	nf.clearStats()
	flatten(&key, &nf.kflat, false)
	nf.key.set(&key)
	nf.own = appendActions(nf.own[:0], f.Actions)
	if f.Actions == nil {
		nf.acts.Store(&noActions) // dumped back as nil, not empty
	} else {
		nf.acts.Store(&nf.own)
	}
	return nf, nil
}

// noActions is the action list of flows installed with nil actions. It is
// never written.
var noActions datapath.Actions

// recycle returns f, no longer reachable from the table, for reuse unless
// a packet or a dump still holds it. d.flowMu is held (pins only grow
// under the read lock).
func (d *Datapath) recycle(f *flow) {
	if f.pins.Load() != 0 {
		return // the garbage collector takes it
	}
	d.flowPool.Put(f)
}

// validateMatch checks a flow's key and mask as the kernel's
// ovs_nla_get_match would reject them, and writes them canonical to key
// and mask, the mask explicit (a zero mask means exact match on the key).
func validateMatch(m *datapath.Match, key, mask *datapath.FlowKey) error {
	*key = m.Key
	key.Canonicalize()
	if key.Fields == 0 {
		return invalid("flow without key")
	}
	*mask = m.Mask
	mask.Canonicalize()
	if mask.Fields == 0 {
		*mask = datapath.ExactMask(*key)
		if key.Unknown != "" || key.UnknownEncap != "" {
			mask.Unknown = exthdrsAttr(0xffff)
		}
	}
	for _, k := range []*datapath.FlowKey{key, mask} {
		// The only raw attribute understood is the IPv6 extension-header
		// pseudo-field, alone at one level.
		_, hasTop, okTop := parseExthdrs(k.Unknown)
		_, hasEncap, okEncap := parseExthdrs(k.UnknownEncap)
		if !okTop || !okEncap || (hasTop && hasEncap) || k.Tunnel.Unknown != "" {
			return unsupported("a key attribute outside the FlowKey model (MPLS, NSH, ...)")
		}
		if k.Tunnel.GeneveOpts != "" {
			return unsupported("Geneve options")
		}
	}
	if extra := mask.Fields &^ key.Fields; extra != 0 {
		return invalid("mask matches groups %#x absent from the key", uint64(extra))
	}
	if key.Fields&datapath.KeyInPort != 0 && key.InPort >= maxPorts {
		return invalid("in_port %d", key.InPort)
	}
	if t := key.Tunnel; t.Src.IsValid() && t.Dst.IsValid() && t.Src.Is4() != t.Dst.Is4() {
		return invalid("tunnel addresses of different families")
	}
	for _, v := range []datapath.VLANKey{key.VLAN, key.CVLAN} {
		if v.TCI != 0 && v.TCI&vlanCFI == 0 {
			return invalid("VLAN TCI %#04x without the CFI (tag present) bit", v.TCI)
		}
	}
	return nil
}

func putOp(mode datapath.PutMode) (string, error) {
	switch mode &^ datapath.PutClearStats {
	case datapath.PutCreate, datapath.PutCreate | datapath.PutModify:
		return "flow new", nil
	case datapath.PutModify:
		return "flow set", nil
	}
	return "flow put", invalid("put mode %#x", uint8(mode))
}

// PutFlow implements datapath.Datapath with the kernel's semantics:
//
//   - PutCreate fails with EEXIST when a flow with the same UFID exists or
//     an installed megaflow already matches the new flow's key.
//   - PutCreate|PutModify creates the flow, or replaces the actions of the
//     existing one (same UFID and masked key, or same unmasked key for
//     flows without UFID); an overlapping flow that is not the same gives
//     ENOENT. Statistics are kept.
//   - PutModify replaces the actions of the flow with the same UFID (or,
//     without UFID, the same unmasked key), ENOENT if absent;
//     PutClearStats also zeroes its statistics.
//
// Keys and actions are validated at install time: actions the in-process
// datapath cannot execute (recirc, hash, ct, set of IPv6 addresses or SCTP
// ports, unknown actions) fail with datapath.ErrNotSupported, actions the
// kernel would reject (a set without its prerequisite match, a masked set
// with value bits outside the mask, ...) with datapath.ErrInvalid.
func (d *Datapath) PutFlow(ctx context.Context, f *datapath.Flow, mode datapath.PutMode) error {
	op, err := putOp(mode)
	if err != nil {
		return opErr(op, err)
	}
	if err := d.checkOpen(ctx, op); err != nil {
		return err
	}
	nf, err := d.prepareFlow(f)
	if err != nil {
		return opErr(op, err)
	}
	d.flowMu.Lock()
	if err = d.put(nf, mode); err != nil {
		d.recycle(nf)
	}
	d.flowMu.Unlock()
	if err != nil {
		return opErr(op, err)
	}
	return nil
}

// put installs or updates nf; d.flowMu is held. When it fails, nf is
// not referenced anywhere: the caller recycles it.
func (d *Datapath) put(nf *flow, mode datapath.PutMode) error {
	base := mode &^ datapath.PutClearStats
	if base == datapath.PutModify {
		// OVS_FLOW_CMD_SET.
		var target *flow
		if nf.byUFID {
			target = d.byUFID.Get(nf.ufid)
		} else {
			target = d.byKey[string(nf.key.bytes())]
		}
		if target == nil {
			return errno(syscall.ENOENT)
		}
		target.acts.Store(nf.acts.Load())
		if mode&datapath.PutClearStats != 0 {
			target.clearStats()
		}
		return nil
	}

	// OVS_FLOW_CMD_NEW: a duplicate is a flow with the same UFID, else any
	// installed megaflow matching the new flow's key.
	var existing *flow
	if nf.byUFID {
		existing = d.byUFID.Get(nf.ufid)
	}
	if existing == nil {
		existing, _, _ = d.cls.lookup(&nf.kflat)
	}
	if existing == nil {
		d.insert(nf)
		return nil
	}
	if base == datapath.PutCreate {
		return errno(syscall.EEXIST)
	}
	// Create-or-modify: the flow found must be the same flow.
	if existing.byUFID {
		ek, nk := existing.match().Key, nf.match().Key
		if ek.Masked(&existing.mask.mask) != nk.Masked(&nf.mask.mask) {
			return errno(syscall.ENOENT) // UFID matches but key is different, or an overlap
		}
	} else if !bytes.Equal(existing.key.bytes(), nf.key.bytes()) { // packing is injective
		if existing = d.byKey[string(nf.key.bytes())]; existing == nil {
			return errno(syscall.ENOENT)
		}
	}
	existing.acts.Store(nf.acts.Load())
	return nil
}

func (d *Datapath) insert(nf *flow) {
	d.seq++
	nf.seq = d.seq
	d.cls.insert(nf)
	if nf.byUFID {
		d.byUFID.Add(nf.ufid, nf)
	} else {
		d.byKey[string(nf.key.bytes())] = nf
	}
}

func (d *Datapath) remove(f *flow) {
	d.cls.remove(f)
	if f.byUFID {
		d.byUFID.Delete(f.ufid)
	} else {
		delete(d.byKey, string(f.key.bytes()))
	}
}

// find returns the flow identified by ref (UFID, else exact unmasked key).
// d.flowMu is held.
func (d *Datapath) find(ref *datapath.Flow) (*flow, error) {
	if !ref.UFID.IsZero() {
		if f := d.byUFID.Get(ref.UFID); f != nil {
			return f, nil
		}
		return nil, errno(syscall.ENOENT)
	}
	if ref.Match.Key.Fields == 0 {
		return nil, invalid("flow without UFID or key")
	}
	var buf [512]byte
	k := ref.Match.Key.Canonical()
	if f := d.byKey[string(appendKey(buf[:0], &k))]; f != nil {
		return f, nil
	}
	return nil, errno(syscall.ENOENT)
}

// DeleteFlow implements datapath.Datapath. Flows installed with a UFID are
// found by UFID only, the others by their exact unmasked key.
func (d *Datapath) DeleteFlow(ctx context.Context, ref *datapath.Flow) (datapath.FlowStats, error) {
	const op = "flow del"
	if err := d.checkOpen(ctx, op); err != nil {
		return datapath.FlowStats{}, err
	}
	d.flowMu.Lock()
	defer d.flowMu.Unlock()
	f, err := d.find(ref)
	if err != nil {
		return datapath.FlowStats{}, opErr(op, err)
	}
	st := f.stats()
	d.remove(f)
	d.recycle(f)
	return st, nil
}

// GetFlow implements datapath.Datapath.
func (d *Datapath) GetFlow(ctx context.Context, ref *datapath.Flow) (datapath.Flow, error) {
	const op = "flow get"
	if err := d.checkOpen(ctx, op); err != nil {
		return datapath.Flow{}, err
	}
	d.flowMu.RLock()
	defer d.flowMu.RUnlock()
	f, err := d.find(ref)
	if err != nil {
		return datapath.Flow{}, opErr(op, err)
	}
	return f.export(), nil
}

// Flows implements datapath.Datapath. It iterates over a snapshot taken
// when iteration starts, in installation order; the loop body may call
// other methods.
func (d *Datapath) Flows(ctx context.Context) iter.Seq2[datapath.Flow, error] {
	return func(yield func(datapath.Flow, error) bool) {
		const op = "flow dump"
		if err := d.checkOpen(ctx, op); err != nil {
			yield(datapath.Flow{}, err)
			return
		}
		d.flowMu.RLock()
		all := make([]*flow, 0, d.byUFID.Len()+len(d.byKey))
		for _, f := range d.byUFID.All() {
			all = append(all, f)
		}
		for _, f := range d.byKey {
			all = append(all, f)
		}
		for _, f := range all {
			f.pins.Add(1) // exported outside the lock: not recycled meanwhile
		}
		d.flowMu.RUnlock()
		defer func() {
			for _, f := range all {
				f.pins.Add(-1)
			}
		}()
		slices.SortFunc(all, func(a, b *flow) int {
			switch {
			case a.seq < b.seq:
				return -1
			case a.seq > b.seq:
				return 1
			}
			return 0
		})
		for _, f := range all {
			if err := ctx.Err(); err != nil {
				yield(datapath.Flow{}, opErr(op, err))
				return
			}
			if !yield(f.export(), nil) {
				return
			}
		}
	}
}

// FlushFlows implements datapath.Datapath.
func (d *Datapath) FlushFlows(ctx context.Context) error {
	if err := d.checkOpen(ctx, "flow flush"); err != nil {
		return err
	}
	d.flowMu.Lock()
	d.cls.reset()
	d.byUFID.Clear()
	clear(d.byKey)
	d.flowMu.Unlock()
	return nil
}
