//go:build linux

package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"syscall"
	"testing"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

func noHandler(t *testing.T) fakeHandler {
	return func(r fakeReq) ([][]byte, error) {
		t.Errorf("unexpected request %+v", r)
		return nil, unix.EINVAL
	}
}

func TestMissingFamily(t *testing.T) {
	fk := newFakeKernel(t, noHandler(t))
	delete(fk.families, ovsh.FlowFamily)
	_, err := newClient(nltest.Dial(fk.serve), nil)
	if err == nil {
		t.Fatal("newClient succeeded without the ovs_flow family")
	}
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, datapath.ErrNotSupported) {
		t.Fatalf("error %v does not match os.ErrNotExist and ErrNotSupported", err)
	}
	var oe *datapath.OpError
	if !errors.As(err, &oe) || oe.Op != "resolve family ovs_flow" {
		t.Fatalf("error %v is not an OpError naming the family", err)
	}
}

func encodeAttrs(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dpReply(t *testing.T, name string, features uint32) []byte {
	stats := make([]byte, 32)
	ne.PutUint64(stats, 10)    // hit
	ne.PutUint64(stats[8:], 2) // missed
	ne.PutUint64(stats[24:], 4)
	mf := make([]byte, 32)
	ne.PutUint64(mf, 30)
	ne.PutUint32(mf[8:], 3)
	ne.PutUint64(mf[16:], 7)
	return encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(ovsh.DPAttrName, name)
		ae.Bytes(ovsh.DPAttrStats, stats)
		ae.Bytes(ovsh.DPAttrMegaflowStats, mf)
		ae.Uint32(ovsh.DPAttrUserFeatures, features)
	})
}

func TestCreateDatapathNegotiatesFeatures(t *testing.T) {
	var seen []uint32
	fk := newFakeKernel(t, func(r fakeReq) ([][]byte, error) {
		if r.family != fakeDPFamily || r.cmd != ovsh.DPCmdNew || r.version != ovsh.DatapathVersion {
			t.Fatalf("unexpected request %+v", r)
		}
		if want := netlink.Request | netlink.Acknowledge | netlink.Echo | netlink.Create | netlink.Excl; r.flags != want {
			t.Errorf("flags %v, want %v", r.flags, want)
		}
		ad, _ := netlink.NewAttributeDecoder(r.attrs)
		var name string
		var pid, feat uint32
		hasPID := false
		for ad.Next() {
			switch ad.Type() {
			case ovsh.DPAttrName:
				name = ad.String()
			case ovsh.DPAttrUpcallPID:
				pid, hasPID = ad.Uint32(), true
			case ovsh.DPAttrUserFeatures:
				feat = ad.Uint32()
			}
		}
		if name != "hn0" || !hasPID || pid != 99 {
			t.Errorf("name %q pid %d (present %v)", name, pid, hasPID)
		}
		seen = append(seen, feat)
		if feat&ovsh.DPFDispatchUpcallPerCPU != 0 {
			return nil, unix.EOPNOTSUPP // an older kernel
		}
		return [][]byte{dpReply(t, "hn0", feat)}, nil
	})
	c := fk.client(t)
	dp, info, err := c.CreateDatapath(context.Background(), DatapathSpec{Name: "hn0", UpcallPID: 99,
		Features: DefaultFeatures | FeatureDispatchUpcallPerCPU})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{uint32(DefaultFeatures | FeatureDispatchUpcallPerCPU), uint32(DefaultFeatures)}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("feature requests %#x, want %#x", seen, want)
	}
	if info.Features != DefaultFeatures || info.Name != "hn0" {
		t.Errorf("info %+v", info)
	}
	wantStats := DatapathStats{Hit: 10, Missed: 2, Flows: 4, MaskHit: 30, Masks: 3, CacheHit: 7}
	if info.Stats != wantStats {
		t.Errorf("stats %+v, want %+v", info.Stats, wantStats)
	}
	if dp.Name() != "hn0" {
		t.Errorf("handle name %q", dp.Name())
	}
}

func TestErrnoWrapping(t *testing.T) {
	for _, tc := range []struct {
		errno    syscall.Errno
		sentinel error
		std      error
	}{
		{unix.ENOENT, datapath.ErrNotFound, os.ErrNotExist},
		{unix.ENODEV, datapath.ErrNotFound, os.ErrNotExist},
		{unix.EEXIST, datapath.ErrExists, os.ErrExist},
		{unix.EINVAL, datapath.ErrInvalid, nil},
		{unix.EOPNOTSUPP, datapath.ErrNotSupported, nil},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			fk := newFakeKernel(t, func(fakeReq) ([][]byte, error) { return nil, tc.errno })
			_, err := fk.client(t).GetDatapath(context.Background(), "nope")
			if !errors.Is(err, tc.sentinel) || !errors.Is(err, tc.errno) {
				t.Fatalf("%v: want match for %v and errno", err, tc.sentinel)
			}
			if tc.std != nil && !errors.Is(err, tc.std) {
				t.Fatalf("%v does not match %v", err, tc.std)
			}
			var oe *datapath.OpError
			if !errors.As(err, &oe) || oe.Op != "datapath get" {
				t.Fatalf("%v is not an OpError for datapath get", err)
			}
		})
	}
}

func TestDatapathsDump(t *testing.T) {
	fk := newFakeKernel(t, func(r fakeReq) ([][]byte, error) {
		if r.flags&netlink.Dump != netlink.Dump || r.cmd != ovsh.DPCmdGet {
			t.Errorf("not a dump: %+v", r)
		}
		return [][]byte{dpReply(t, "a", 1), dpReply(t, "b", 3), dpReply(t, "c", 0)}, nil
	})
	infos, err := fk.client(t).Datapaths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Fatalf("names %v", names)
	}
}

func testDatapath(t *testing.T, h fakeHandler) (*Datapath, *fakeKernel) {
	fk := newFakeKernel(t, h)
	c := fk.client(t)
	return c.handle(DatapathInfo{Name: "hn0", IfIndex: 7}), fk
}

func TestCreateVXLANPort(t *testing.T) {
	dp, fk := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		// Echo the request back with a port number, like the kernel.
		return [][]byte{append(appendU32(nil, ovsh.VportAttrPortNo, 4), r.attrs...)}, nil
	})
	p, err := dp.CreatePort(context.Background(), datapath.PortSpec{Name: "vx0", Type: datapath.PortVXLAN, UpcallPIDs: []uint32{11, 12}})
	if err != nil {
		t.Fatal(err)
	}
	want := datapath.Port{Number: 4, Type: datapath.PortVXLAN, Name: "vx0", DstPort: DefaultVXLANPort, UpcallPIDs: []uint32{11, 12}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("port %+v, want %+v", p, want)
	}
	r := fk.requests()[0]
	if r.family != fakeVportFamily || r.cmd != ovsh.VportCmdNew || r.ifindex != 7 {
		t.Fatalf("request %+v", r)
	}
	// Check the request bytes attribute by attribute.
	wantAttrs := appendAttr(nil, ovsh.VportAttrName, []byte("vx0\x00"))
	wantAttrs = appendU32(wantAttrs, ovsh.VportAttrType, ovsh.VportTypeVXLAN)
	wantAttrs = appendAttr(wantAttrs, ovsh.VportAttrUpcallPID, ne.AppendUint32(nil, 11))
	wantAttrs = appendAttr(wantAttrs, ovsh.VportAttrOptions|nlaFlagNested, appendU16(nil, ovsh.TunnelAttrDstPort, 4789))
	if !bytes.Equal(r.attrs, wantAttrs) {
		t.Fatalf("request attributes\n got %x\nwant %x", r.attrs, wantAttrs)
	}
	// The kernel takes one PID in NEW: the others are set with SET.
	r = fk.requests()[1]
	wantAttrs = appendU32(nil, ovsh.VportAttrPortNo, 4)
	wantAttrs = appendAttr(wantAttrs, ovsh.VportAttrUpcallPID, ne.AppendUint32(ne.AppendUint32(nil, 11), 12))
	if r.cmd != ovsh.VportCmdSet || !bytes.Equal(r.attrs, wantAttrs) {
		t.Fatalf("second request %+v, want SET with %x", r, wantAttrs)
	}
}

func TestCreatePortRejectsBadSpec(t *testing.T) {
	dp, _ := testDatapath(t, noHandler(t))
	_, err := dp.CreatePort(context.Background(), datapath.PortSpec{Name: "x", Type: datapath.PortNetdev, DstPort: 1})
	if !errors.Is(err, datapath.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

func TestPortsDumpSorted(t *testing.T) {
	dp, _ := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		stats := make([]byte, 64)
		ne.PutUint64(stats[16:], 1500)
		return [][]byte{
			appendAttr(appendU32(appendU32(nil, ovsh.VportAttrPortNo, 2), ovsh.VportAttrType, ovsh.VportTypeNetdev), ovsh.VportAttrStats, stats),
			appendU32(appendU32(nil, ovsh.VportAttrPortNo, 0), ovsh.VportAttrType, ovsh.VportTypeInternal),
		}, nil
	})
	ps, err := dp.Ports(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Number != 0 || ps[1].Number != 2 || ps[1].Stats.RxBytes != 1500 {
		t.Fatalf("ports %+v", ps)
	}
}

func testFlow() datapath.Flow {
	k := keyCases()["tcp4"]
	m := datapath.ExactMask(k)
	m.Fields &^= datapath.KeyTCP
	m = m.Canonical()
	return datapath.Flow{
		UFID:    datapath.UFID{0xaa, 1},
		Match:   datapath.Match{Key: k, Mask: m},
		Actions: datapath.Actions{datapath.Output{Port: 2}},
	}
}

func TestPutFlowModes(t *testing.T) {
	for _, tc := range []struct {
		mode  datapath.PutMode
		cmd   uint8
		flags netlink.HeaderFlags
		clear bool
	}{
		{datapath.PutCreate, ovsh.FlowCmdNew, netlink.Create | netlink.Excl, false},
		{datapath.PutCreate | datapath.PutModify, ovsh.FlowCmdNew, 0, false},
		{datapath.PutModify, ovsh.FlowCmdSet, 0, false},
		{datapath.PutModify | datapath.PutClearStats, ovsh.FlowCmdSet, 0, true},
	} {
		dp, fk := testDatapath(t, func(fakeReq) ([][]byte, error) { return nil, nil })
		f := testFlow()
		if err := dp.PutFlow(context.Background(), &f, tc.mode); err != nil {
			t.Fatalf("mode %#x: %v", tc.mode, err)
		}
		r := fk.requests()[0]
		if r.cmd != tc.cmd || r.flags != netlink.Request|netlink.Acknowledge|tc.flags {
			t.Errorf("mode %#x: cmd %d flags %v", tc.mode, r.cmd, r.flags)
		}
		want, _ := appendFlow(nil, &f, true, true, tc.clear)
		if !bytes.Equal(r.attrs, want) {
			t.Errorf("mode %#x: attributes\n got %x\nwant %x", tc.mode, r.attrs, want)
		}
		// The request carries UFID, key, mask and actions.
		var got datapath.Flow
		if err := decodeFlow(r.attrs, &got); err != nil || got.UFID != f.UFID || got.Match != f.Match {
			t.Errorf("mode %#x: request decodes to %+v, %v", tc.mode, got, err)
		}
	}
	dp, _ := testDatapath(t, noHandler(t))
	f := testFlow()
	if err := dp.PutFlow(context.Background(), &f, datapath.PutClearStats); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("bad mode: %v", err)
	}
}

func TestPutFlowExists(t *testing.T) {
	dp, _ := testDatapath(t, func(fakeReq) ([][]byte, error) { return nil, unix.EEXIST })
	f := testFlow()
	err := dp.PutFlow(context.Background(), &f, datapath.PutCreate)
	if !errors.Is(err, datapath.ErrExists) || !errors.Is(err, os.ErrExist) {
		t.Fatalf("got %v", err)
	}
}

func flowReply(t *testing.T, f *datapath.Flow, packets, bytes uint64) []byte {
	b, err := appendFlow(nil, f, true, true, false)
	if err != nil {
		t.Fatal(err)
	}
	st := ne.AppendUint64(ne.AppendUint64(nil, packets), bytes)
	b = appendAttr(b, ovsh.FlowAttrStats, st)
	b = appendU8(b, ovsh.FlowAttrTCPFlags, 0x12)
	b = ne.AppendUint64(appendAttrHdr(b, ovsh.FlowAttrUsed, 8), 1500)
	return b
}

func TestGetAndDeleteFlow(t *testing.T) {
	f := testFlow()
	dp, fk := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		return [][]byte{flowReply(t, &f, 3, 300)}, nil
	})
	got, err := dp.GetFlow(context.Background(), &datapath.Flow{UFID: f.UFID})
	if err != nil {
		t.Fatal(err)
	}
	if got.UFID != f.UFID || got.Match != f.Match || !reflect.DeepEqual(got.Actions, f.Actions) ||
		got.Stats != (datapath.FlowStats{Packets: 3, Bytes: 300}) || got.TCPFlags != 0x12 || got.Used.Milliseconds() != 1500 {
		t.Fatalf("got %+v", got)
	}
	st, err := dp.DeleteFlow(context.Background(), &datapath.Flow{UFID: f.UFID})
	if err != nil || st.Packets != 3 {
		t.Fatalf("delete: %+v %v", st, err)
	}
	reqs := fk.requests()
	// By UFID: only the UFID attribute is sent.
	wantAttrs := appendAttr(nil, ovsh.FlowAttrUFID, f.UFID[:])
	for i, cmd := range []uint8{ovsh.FlowCmdGet, ovsh.FlowCmdDel} {
		if reqs[i].cmd != cmd || !bytes.Equal(reqs[i].attrs, wantAttrs) {
			t.Errorf("request %d: %+v", i, reqs[i])
		}
	}
	if reqs[1].flags&netlink.Echo == 0 {
		t.Error("delete does not ask for the flow (NLM_F_ECHO)")
	}
	// By key: the key, no mask.
	if _, err := dp.DeleteFlow(context.Background(), &datapath.Flow{Match: f.Match}); err != nil {
		t.Fatal(err)
	}
	k := f.Match.Key
	want := appendAttr(nil, ovsh.FlowAttrKey|nlaFlagNested, appendKey(nil, &k))
	if got := fk.requests()[2].attrs; !bytes.Equal(got, want) {
		t.Errorf("delete by key attributes\n got %x\nwant %x", got, want)
	}
	// Neither: refused locally, since an empty DEL flushes the table.
	if _, err := dp.DeleteFlow(context.Background(), &datapath.Flow{}); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("empty delete: %v", err)
	}
	if n := len(fk.requests()); n != 3 {
		t.Errorf("%d requests sent", n)
	}
}

func TestFlowsDumpAndFlush(t *testing.T) {
	flows := []datapath.Flow{testFlow(), testFlow(), testFlow()}
	for i := range flows {
		flows[i].UFID[15] = byte(i)
	}
	dp, fk := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		if r.cmd == ovsh.FlowCmdDel {
			return nil, nil
		}
		var out [][]byte
		for i := range flows {
			out = append(out, flowReply(t, &flows[i], uint64(i), 0))
		}
		return out, nil
	})
	var got []datapath.UFID
	for f, err := range dp.Flows(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.UFID)
		// Calling the datapath from inside the loop must not deadlock.
		if len(got) == 1 {
			if err := dp.FlushFlows(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 3 || got[2] != flows[2].UFID {
		t.Fatalf("dumped %v", got)
	}
	reqs := fk.requests()
	if reqs[0].flags&netlink.Dump != netlink.Dump || reqs[1].cmd != ovsh.FlowCmdDel || len(reqs[1].attrs) != 0 {
		t.Fatalf("requests %+v", reqs)
	}
	// Omit flags travel as OVS_FLOW_ATTR_UFID_FLAGS.
	for _, err := range dp.DumpFlows(context.Background(), OmitKey|OmitActions) {
		if err != nil {
			t.Fatal(err)
		}
	}
	last := fk.requests()[len(fk.requests())-1]
	if want := appendU32(nil, ovsh.FlowAttrUFIDFlags, ovsh.UFIDFOmitKey|ovsh.UFIDFOmitActions); !bytes.Equal(last.attrs, want) {
		t.Errorf("dump attributes %x, want %x", last.attrs, want)
	}
	// Breaking early is fine too.
	for range dp.Flows(context.Background()) {
		break
	}
}

func TestPutFlowsBatch(t *testing.T) {
	flows := make([]datapath.Flow, 150)
	for i := range flows {
		flows[i] = testFlow()
		flows[i].UFID[15] = byte(i)
	}
	flows[3].Match.Key = datapath.FlowKey{} // rejected locally
	dp, fk := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		var f datapath.Flow
		if err := decodeFlow(r.attrs, &f); err != nil {
			return nil, unix.EINVAL
		}
		if f.UFID[15] == 70 || f.UFID[15] == 140 {
			return nil, unix.EEXIST
		}
		return nil, nil
	})
	err := dp.PutFlows(context.Background(), flows, datapath.PutCreate)
	var be *datapath.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a BatchError", err)
	}
	failed := map[int]error{}
	for _, ie := range be.Errs {
		failed[ie.Index] = ie.Err
	}
	if len(failed) != 3 || !errors.Is(failed[3], datapath.ErrInvalid) ||
		!errors.Is(failed[70], datapath.ErrExists) || !errors.Is(failed[140], datapath.ErrExists) {
		t.Fatalf("failures %v", failed)
	}
	if !errors.Is(err, datapath.ErrExists) {
		t.Error("BatchError does not unwrap to its causes")
	}
	if n := len(fk.requests()); n != 149 {
		t.Errorf("%d requests reached the kernel, want 149", n)
	}
	// The client is still in sync: a following request works.
	f := testFlow()
	if err := dp.PutFlow(context.Background(), &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
}

// DeleteFlows sends one OVS_FLOW_CMD_DEL per UFID, naming the flow by its
// UFID alone; a zero UFID (which would flush the table) never leaves, and
// the kernel's refusals come back by index.
func TestDeleteFlowsBatch(t *testing.T) {
	ufids := make([]datapath.UFID, 150)
	for i := range ufids {
		ufids[i] = datapath.UFID{0xdd, byte(i)}
	}
	ufids[5] = datapath.UFID{}
	dp, fk := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		if r.cmd != ovsh.FlowCmdDel {
			return nil, unix.EOPNOTSUPP
		}
		var f datapath.Flow
		if err := decodeFlow(r.attrs, &f); err != nil || f.UFID.IsZero() || f.Match.Key.Fields != 0 {
			return nil, unix.EINVAL
		}
		if f.UFID[1] == 99 {
			return nil, unix.ENOENT
		}
		return nil, nil
	})
	err := dp.DeleteFlows(context.Background(), ufids)
	var be *datapath.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 2 {
		t.Fatalf("got %v, want a BatchError of 2", err)
	}
	if e := be.Errs[0]; e.Index != 5 || !errors.Is(e.Err, datapath.ErrInvalid) {
		t.Errorf("failure %d: %v, want 5: EINVAL (refused locally)", e.Index, e.Err)
	}
	if e := be.Errs[1]; e.Index != 99 || !errors.Is(e.Err, datapath.ErrNotFound) {
		t.Errorf("failure %d: %v, want 99: ENOENT", e.Index, e.Err)
	}
	reqs := fk.requests()
	if len(reqs) != 149 {
		t.Fatalf("%d requests reached the kernel, want 149", len(reqs))
	}
	if want := appendAttr(nil, ovsh.FlowAttrUFID, ufids[0][:]); !bytes.Equal(reqs[0].attrs, want) {
		t.Errorf("request attributes %x, want the UFID alone %x", reqs[0].attrs, want)
	}
	// The client is still in sync: a following request works.
	if err := dp.DeleteFlows(context.Background(), ufids[:1]); err != nil {
		t.Fatal(err)
	}
}

func TestExecute(t *testing.T) {
	dp, fk := testDatapath(t, func(fakeReq) ([][]byte, error) { return nil, nil })
	k := datapath.FlowKey{Fields: datapath.KeyInPort, InPort: 1}
	pkt := []byte{1, 2, 3, 4, 5}
	acts := datapath.Actions{datapath.Output{Port: 2}}
	if err := dp.Execute(context.Background(), pkt, &k, acts); err != nil {
		t.Fatal(err)
	}
	r := fk.requests()[0]
	want := appendAttr(nil, ovsh.PacketAttrPacket, pkt)
	want = appendAttr(want, ovsh.PacketAttrKey|nlaFlagNested, appendU32(nil, ovsh.KeyAttrInPort, 1))
	want = appendAttr(want, ovsh.PacketAttrActions|nlaFlagNested, appendU32(nil, ovsh.ActionAttrOutput, 2))
	if r.family != fakePacketFamily || r.cmd != ovsh.PacketCmdExecute || !bytes.Equal(r.attrs, want) {
		t.Fatalf("request %+v\nwant attrs %x", r, want)
	}
	if err := dp.Execute(context.Background(), nil, &k, acts); !errors.Is(err, datapath.ErrInvalid) {
		t.Fatalf("empty packet: %v", err)
	}
	// A nil key (a generated packet, from no port) sends an empty key:
	// the kernel requires the attribute and takes absent metadata as none.
	if err := dp.Execute(context.Background(), pkt, nil, acts); err != nil {
		t.Fatal(err)
	}
	r = fk.requests()[1]
	want = appendAttr(nil, ovsh.PacketAttrPacket, pkt)
	want = appendAttr(want, ovsh.PacketAttrKey|nlaFlagNested, nil)
	want = appendAttr(want, ovsh.PacketAttrActions|nlaFlagNested, appendU32(nil, ovsh.ActionAttrOutput, 2))
	if !bytes.Equal(r.attrs, want) {
		t.Fatalf("nil key: attrs %x\nwant %x", r.attrs, want)
	}
}

func TestContextCanceled(t *testing.T) {
	dp, fk := testDatapath(t, noHandler(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dp.Ports(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if len(fk.requests()) != 0 {
		t.Fatal("request sent with a canceled context")
	}
}

func TestUpcallSocket(t *testing.T) {
	k := keyCases()["udp6"]
	var ups [][]byte
	ups = append(ups, upcallSeed(ovsh.PacketCmdMiss, &k, []byte("hello"), nil))
	extra := appendAttr(nil, ovsh.PacketAttrUserdata, []byte{9, 9})
	ups = append(ups, upcallSeed(ovsh.PacketCmdAction, &k, []byte("hi"), extra))
	upSock := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) != 0 {
			t.Errorf("upcall socket sent %d messages", len(req))
		}
		var out []netlink.Message
		for _, b := range ups {
			out = append(out, netlink.Message{Header: netlink.Header{Type: fakePacketFamily}, Data: b})
		}
		ups = nil
		return out, nil
	})
	fk := newFakeKernel(t, noHandler(t))
	c := fk.client(t)
	c.dial = func() (*netlink.Conn, error) { return upSock, nil }
	dp := c.handle(DatapathInfo{Name: "hn0", IfIndex: 7})
	s, err := dp.OpenUpcalls()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.PID() != nltest.PID {
		t.Errorf("PID %d", s.PID())
	}
	var u datapath.Upcall
	if err := s.Receive(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	if u.Kind != datapath.UpcallMiss || string(u.Packet) != "hello" || u.Key != k {
		t.Fatalf("first upcall %+v", u)
	}
	if err := s.Receive(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	if u.Kind != datapath.UpcallAction || string(u.Packet) != "hi" || !bytes.Equal(u.Userdata, []byte{9, 9}) {
		t.Fatalf("second upcall %+v", u)
	}
	// Receiving into the same Upcall does not allocate for the packet.
	if n := testing.AllocsPerRun(10, func() {
		if err := decodeUpcall(ups0(&k), &u); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("decodeUpcall allocates %v times", n)
	}
}

var upcallBuf []byte

func ups0(k *datapath.FlowKey) []byte {
	if upcallBuf == nil {
		upcallBuf = upcallSeed(ovsh.PacketCmdMiss, k, make([]byte, 1500), nil)
	}
	return upcallBuf
}

// KeepVportDispatch restores vport-PID dispatch after another program
// switched the datapath to per-CPU dispatch, and does nothing otherwise.
func TestKeepVportDispatch(t *testing.T) {
	features := uint32(FeatureUnaligned | FeatureDispatchUpcallPerCPU) // what ovs-dpctl leaves
	var sets []uint32
	dp, _ := testDatapath(t, func(r fakeReq) ([][]byte, error) {
		if r.family != fakeDPFamily {
			t.Fatalf("unexpected request %+v", r)
		}
		switch r.cmd {
		case ovsh.DPCmdGet:
		case ovsh.DPCmdSet:
			ad, _ := netlink.NewAttributeDecoder(r.attrs)
			for ad.Next() {
				if ad.Type() == ovsh.DPAttrUserFeatures {
					features = ad.Uint32()
					sets = append(sets, features)
				}
			}
		default:
			t.Fatalf("unexpected command %d", r.cmd)
		}
		return [][]byte{dpReply(t, "hn0", features)}, nil
	})
	ctx := context.Background()
	restored, err := dp.KeepVportDispatch(ctx)
	if err != nil || !restored {
		t.Fatalf("KeepVportDispatch = %v, %v; want restored", restored, err)
	}
	if want := uint32(FeatureUnaligned | FeatureVportPIDs); len(sets) != 1 || sets[0] != want {
		t.Fatalf("features set %v, want [%d]", sets, want)
	}
	restored, err = dp.KeepVportDispatch(ctx)
	if err != nil || restored || len(sets) != 1 {
		t.Fatalf("second KeepVportDispatch = %v, %v (%d sets); want nothing to do", restored, err, len(sets))
	}
}
