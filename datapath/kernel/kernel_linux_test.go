//go:build linux

package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/vmtest"
	"github.com/hivenet/hivenet/topology"
)

// Kernel tests run inside the VM harness (internal/vmtest); elsewhere they
// skip.

func kctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// kernelClient dials the openvswitch families, in the named network
// namespace if ns is non-nil.
func kernelClient(t *testing.T, ns *vmtest.NetNS) *Client {
	t.Helper()
	cfg := &Config{}
	if ns != nil {
		f, err := os.Open("/var/run/netns/" + ns.Name())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		cfg.NetNS = int(f.Fd())
	}
	c, err := Dial(cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func kernelDatapath(t *testing.T, c *Client, name string) *Datapath {
	t.Helper()
	ctx := kctx(t)
	dp, info, err := c.CreateDatapath(ctx, DatapathSpec{Name: name})
	if err != nil {
		t.Fatalf("CreateDatapath: %v", err)
	}
	t.Cleanup(func() {
		if err := c.DeleteDatapath(context.Background(), name); err != nil {
			t.Errorf("DeleteDatapath: %v", err)
		}
	})
	if info.Features&DefaultFeatures != DefaultFeatures {
		t.Errorf("features %v, want at least %v", info.Features, DefaultFeatures)
	}
	return dp
}

func TestKernelDatapathAndPorts(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	dp := kernelDatapath(t, c, "hvk-dp")

	if _, _, err := c.CreateDatapath(ctx, DatapathSpec{Name: "hvk-dp"}); !errors.Is(err, datapath.ErrExists) {
		t.Errorf("second CreateDatapath: %v, want ErrExists", err)
	}
	if _, err := c.GetDatapath(ctx, "hvk-nope"); !errors.Is(err, datapath.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("GetDatapath of a missing datapath: %v", err)
	}
	infos, err := c.Datapaths(ctx)
	if err != nil || !slices.ContainsFunc(infos, func(i DatapathInfo) bool { return i.Name == "hvk-dp" && i.IfIndex == dp.IfIndex() }) {
		t.Fatalf("Datapaths = %+v, %v", infos, err)
	}

	vmtest.Run(t, "ip", "link", "add", "name", "hvk-veth0", "type", "veth", "peer", "name", "hvk-veth1")
	t.Cleanup(func() { _, _ = vmtest.Exec(context.Background(), "ip", "link", "del", "hvk-veth0") })
	specs := []datapath.PortSpec{
		{Name: "hvk-veth0", Type: datapath.PortNetdev, UpcallPIDs: []uint32{1, 2}},
		{Name: "hvk-int", Type: datapath.PortInternal, Number: 10},
		{Name: "hvk-vx", Type: datapath.PortVXLAN, DstPort: 4790},
		{Name: "hvk-gre", Type: datapath.PortGRE},
		{Name: "hvk-gnv", Type: datapath.PortGeneve},
	}
	multi := true
	for _, s := range specs {
		p, err := dp.CreatePort(ctx, s)
		if len(s.UpcallPIDs) > 1 && errors.Is(err, datapath.ErrNotSupported) {
			// Kernels before the NLA_UNSPEC policy fix take one PID only;
			// the half-created port must be gone.
			if _, err := dp.PortByName(ctx, s.Name); !errors.Is(err, datapath.ErrNotFound) {
				t.Fatalf("port %s left behind: %v", s.Name, err)
			}
			multi = false
			s.UpcallPIDs = s.UpcallPIDs[:1]
			p, err = dp.CreatePort(ctx, s)
		}
		if err != nil {
			t.Fatalf("CreatePort(%+v): %v", s, err)
		}
		if p.Name != s.Name || p.Type != s.Type || (s.Number != 0 && p.Number != s.Number) {
			t.Errorf("CreatePort(%+v) = %+v", s, p)
		}
	}
	ports, err := dp.Ports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]datapath.Port{}
	for _, p := range ports {
		byName[p.Name] = p
	}
	if len(ports) != len(specs)+1 || byName["hvk-dp"].Number != datapath.LocalPort || byName["hvk-dp"].Type != datapath.PortInternal {
		t.Fatalf("Ports = %+v", ports)
	}
	if p := byName["hvk-vx"]; p.DstPort != 4790 {
		t.Errorf("vxlan port %+v: DstPort", p)
	}
	if p := byName["hvk-gnv"]; p.DstPort != DefaultGenevePort {
		t.Errorf("geneve port %+v: DstPort", p)
	}
	if p := byName["hvk-veth0"]; (multi && !slices.Equal(p.UpcallPIDs, []uint32{1, 2})) || (!multi && !slices.Equal(p.UpcallPIDs, []uint32{1})) || p.IfIndex == 0 {
		t.Errorf("netdev port %+v", p)
	}
	t.Logf("several upcall PIDs per vport supported: %v", multi)
	p, err := dp.PortByName(ctx, "hvk-int")
	if err != nil || p.Number != 10 {
		t.Fatalf("PortByName = %+v, %v", p, err)
	}
	if err := dp.SetPortUpcallPIDs(ctx, 10, []uint32{7}); err != nil {
		t.Fatal(err)
	}
	if p, err := dp.Port(ctx, 10); err != nil || !slices.Equal(p.UpcallPIDs, []uint32{7}) {
		t.Fatalf("Port(10) = %+v, %v", p, err)
	}
	if _, err := dp.CreatePort(ctx, specs[1]); !errors.Is(err, datapath.ErrExists) {
		t.Errorf("duplicate CreatePort: %v", err)
	}
	if err := dp.DeletePort(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if err := dp.DeletePort(ctx, 10); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("second DeletePort: %v", err)
	}
	info, err := dp.Info(ctx)
	if err != nil || info.Name != "hvk-dp" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}

// twoVMs builds the classic test bed: namespaces vm1 (10.0.0.1) and vm2
// (10.0.0.2) attached by veth pairs to ports 1 and 2 of a new datapath.
func twoVMs(t *testing.T, c *Client, upcallPID uint32) (*Datapath, *vmtest.NetNS, *vmtest.NetNS) {
	t.Helper()
	vm1 := vmtest.NewNetNS(t, "hvk-vm1")
	vm2 := vmtest.NewNetNS(t, "hvk-vm2")
	vmtest.VethPair(t, "hvk-h1", "eth0", vm1, netip.MustParsePrefix("10.0.0.1/24"))
	vmtest.VethPair(t, "hvk-h2", "eth0", vm2, netip.MustParsePrefix("10.0.0.2/24"))
	dp := kernelDatapath(t, c, "hvk-dp")
	ctx := kctx(t)
	for i, name := range []string{"hvk-h1", "hvk-h2"} {
		var pids []uint32
		if upcallPID != 0 {
			pids = []uint32{upcallPID}
		}
		if _, err := dp.CreatePort(ctx, datapath.PortSpec{Name: name, Type: datapath.PortNetdev,
			Number: datapath.PortNumber(i + 1), UpcallPIDs: pids}); err != nil {
			t.Fatal(err)
		}
	}
	return dp, vm1, vm2
}

// fwd is a megaflow sending the frames of one ethertype from in to out,
// whatever their addresses.
func fwd(id byte, in datapath.PortNumber, ethType uint16, acts ...datapath.Action) datapath.Flow {
	k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyEtherType, InPort: in, EtherType: ethType}
	switch ethType {
	case 0x0800:
		k.Fields |= datapath.KeyIPv4
	case 0x0806:
		k.Fields |= datapath.KeyARP
	}
	m := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyEtherType, InPort: ^datapath.PortNumber(0), EtherType: 0xffff}
	return datapath.Flow{UFID: datapath.UFID{0x4b, id}, Match: datapath.Match{Key: k, Mask: m}, Actions: acts}
}

func TestKernelFlowsPing(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	dp, vm1, _ := twoVMs(t, c, 0)

	flows := []datapath.Flow{
		fwd(1, 1, 0x0806, datapath.Output{Port: 2}),
		fwd(2, 1, 0x0800, datapath.Output{Port: 2}),
		fwd(3, 2, 0x0806, datapath.Output{Port: 1}),
		fwd(4, 2, 0x0800, datapath.Output{Port: 1}),
	}
	if err := dp.PutFlows(ctx, flows, datapath.PutCreate); err != nil {
		t.Fatalf("PutFlows: %v", err)
	}
	if err := dp.PutFlow(ctx, &flows[0], datapath.PutCreate); !errors.Is(err, datapath.ErrExists) {
		t.Errorf("duplicate PutFlow: %v", err)
	}
	if err := dp.PutFlow(ctx, &flows[0], datapath.PutModify|datapath.PutClearStats); err != nil {
		t.Errorf("modify: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(vmtest.Run(t, "ovs-dpctl", "dump-flows", "hvk-dp")), "\n")
	if len(lines) != 4 {
		t.Fatalf("ovs-dpctl dump-flows shows %d flows:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if strings.Contains(l, "in_port(1)") != strings.HasSuffix(l, "actions:2") {
			t.Errorf("ovs-dpctl sees a flow we did not install: %s", l)
		}
	}

	const count = 3
	if err := vmtest.Ping(t, vm1, netip.MustParseAddr("10.0.0.2"), count); err != nil {
		t.Fatalf("ping through our flows: %v", err)
	}
	got := map[datapath.UFID]datapath.Flow{}
	for f, err := range dp.Flows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got[f.UFID] = f
	}
	if len(got) != 4 {
		t.Fatalf("dumped %d flows", len(got))
	}
	for _, want := range flows {
		f, ok := got[want.UFID]
		if !ok {
			t.Fatalf("flow %x not dumped", want.UFID)
		}
		if f.Match.Key.InPort != want.Match.Key.InPort || f.Match.Key.EtherType != want.Match.Key.EtherType ||
			f.Match.Mask.EtherType != 0xffff || f.Match.Mask.Ethernet != (datapath.EthernetKey{}) {
			t.Errorf("flow %x dumped as %+v", want.UFID, f.Match)
		}
		if !slices.Equal(f.Actions, want.Actions) {
			t.Errorf("flow %x actions %v, want %v", want.UFID, f.Actions, want.Actions)
		}
		if want.Match.Key.EtherType == 0x0800 && (f.Stats.Packets < count || f.Stats.Bytes < count*84 || f.Used == 0) {
			t.Errorf("flow %x stats %+v used %v after %d pings", want.UFID, f.Stats, f.Used, count)
		}
	}
	n := 0
	for f, err := range dp.DumpFlows(ctx, OmitKey|OmitMask|OmitActions) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if f.Match.Key.Fields != 0 || f.Match.Mask.Fields != 0 || f.Actions != nil || f.UFID.IsZero() {
			t.Errorf("stats-only dump returned %+v", f)
		}
	}
	if n != 4 {
		t.Errorf("stats-only dump: %d flows", n)
	}
	info, err := dp.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Stats.Flows != 4 || info.Stats.Hit < 2*count || info.Stats.Masks < 1 || info.Stats.MaskHit < info.Stats.Hit {
		t.Errorf("datapath stats %+v", info.Stats)
	}

	st, err := dp.DeleteFlow(ctx, &datapath.Flow{UFID: flows[1].UFID})
	if err != nil || st.Packets < count {
		t.Fatalf("DeleteFlow = %+v, %v", st, err)
	}
	if _, err := dp.GetFlow(ctx, &datapath.Flow{UFID: flows[1].UFID}); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("GetFlow of a deleted flow: %v", err)
	}
	if err := vmtest.Ping(t, vm1, netip.MustParseAddr("10.0.0.2"), 1); !errors.Is(err, vmtest.ErrPing) {
		t.Errorf("ping without the 1->2 IPv4 flow: %v", err)
	}
	f, err := dp.GetFlow(ctx, &datapath.Flow{UFID: flows[3].UFID})
	if err != nil || f.Stats.Packets < count {
		t.Errorf("GetFlow = %+v, %v", f, err)
	}
	// A batch delete: the flow already gone is reported by index, the
	// others leave the kernel's table.
	err = dp.DeleteFlows(ctx, []datapath.UFID{flows[0].UFID, flows[1].UFID, flows[2].UFID})
	var be *datapath.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 1 || be.Errs[0].Index != 1 || !errors.Is(be.Errs[0].Err, datapath.ErrNotFound) {
		t.Errorf("DeleteFlows with a deleted flow: %v, want ENOENT for #1 alone", err)
	}
	if left := strings.TrimSpace(vmtest.Run(t, "ovs-dpctl", "dump-flows", "hvk-dp")); strings.Count(left, "\n") != 0 || !strings.Contains(left, "in_port(2)") || !strings.Contains(left, "0x0800") {
		t.Errorf("ovs-dpctl dump-flows after DeleteFlows, want flow 4 alone:\n%s", left)
	}
	if err := dp.FlushFlows(ctx); err != nil {
		t.Fatal(err)
	}
	for f, err := range dp.Flows(ctx) {
		t.Errorf("flow %+v (%v) left after flush", f.UFID, err)
	}
}

func vmMAC(t *testing.T, ns *vmtest.NetNS) topology.MAC {
	m, err := topology.ParseMAC(strings.TrimSpace(ns.Run(t, "cat", "/sys/class/net/eth0/address")))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKernelUpcallAndExecute(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	up, err := c.OpenUpcallSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	dp, vm1, vm2 := twoVMs(t, c, up.PID())

	done := make(chan error, 1)
	go func() { done <- vmtest.Ping(t, vm1, netip.MustParseAddr("10.0.0.2"), 1) }()
	var u datapath.Upcall
	for {
		if err := up.Receive(ctx, &u); err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if u.Key.EtherType == 0x0806 {
			break // skip IPv6 router solicitations and the like
		}
	}
	<-done
	src := vmMAC(t, vm1)
	k := u.Key
	if u.Kind != datapath.UpcallMiss || k.InPort != 1 || !k.Fields.Has(datapath.KeyARP|datapath.KeyEthernet) {
		t.Fatalf("upcall %+v", u)
	}
	want := datapath.ARPKey{SIP: netip.MustParseAddr("10.0.0.1"), TIP: netip.MustParseAddr("10.0.0.2"), Op: 1, SHA: src}
	if k.ARP != want || k.Ethernet.Src != src || k.Ethernet.Dst != topology.BroadcastMAC {
		t.Errorf("upcall key %+v %+v, want ARP %+v from %v", k.Ethernet, k.ARP, want, src)
	}
	// Our own extraction of the packet bytes agrees with the kernel's key.
	p := u.Packet
	if len(p) < 42 {
		t.Fatalf("upcall packet of %d bytes", len(p))
	}
	ours := datapath.ARPKey{SIP: netip.AddrFrom4([4]byte(p[28:32])), TIP: netip.AddrFrom4([4]byte(p[38:42])),
		Op: binary.BigEndian.Uint16(p[20:22]), SHA: topology.MAC(p[22:28]), THA: topology.MAC(p[32:38])}
	if ours != k.ARP || topology.MAC(p[0:6]) != k.Ethernet.Dst || topology.MAC(p[6:12]) != k.Ethernet.Src ||
		binary.BigEndian.Uint16(p[12:14]) != k.EtherType {
		t.Errorf("packet parses to %+v, kernel key %+v", ours, k.ARP)
	}

	before, err := dp.Port(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.Execute(ctx, u.Packet, &u.Key, datapath.Actions{datapath.Output{Port: 2}}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	after, err := dp.Port(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.TxPackets != before.Stats.TxPackets+1 {
		t.Errorf("port 2 sent %d packets after Execute, want 1", after.Stats.TxPackets-before.Stats.TxPackets)
	}
	// vm2 learned vm1's MAC from the executed ARP request.
	if n := vm2.Run(t, "ip", "neigh", "show", "10.0.0.1"); !strings.Contains(n, src.String()) {
		t.Errorf("vm2 neighbour table after Execute: %q", n)
	}

	// A userspace action sends UpcallAction upcalls with the userdata.
	ud := []byte("hivenet")
	f := fwd(9, 1, 0x0806, datapath.Userspace{PID: up.PID(), Userdata: ud})
	if err := dp.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	// A fresh neighbour resolution: an entry left INCOMPLETE by the first
	// ping would swallow the next packet without a new ARP request.
	vm1.Run(t, "ip", "neigh", "flush", "dev", "eth0")
	go func() { done <- vmtest.Ping(t, vm1, netip.MustParseAddr("10.0.0.2"), 2) }()
	for {
		if err := up.Receive(ctx, &u); err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if u.Kind == datapath.UpcallAction {
			break
		}
	}
	<-done
	if string(u.Userdata) != string(ud) || u.Key.EtherType != 0x0806 {
		t.Errorf("action upcall %+v", u)
	}

	// Receive honours its context and Close unblocks it.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	for i := 0; ; i++ { // drain stray upcalls (IPv6 noise) until the deadline
		err := up.Receive(short, &u)
		if err == nil && i < 1000 {
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Receive past the deadline: %v", err)
		}
		break
	}
	closed, err := c.OpenUpcallSocket()
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(100 * time.Millisecond); closed.Close() }()
	if err := closed.Receive(ctx, &u); err == nil {
		t.Error("Receive on a closed socket succeeded")
	}

	// Per-CPU dispatch: misses go to the datapath's per-CPU sockets.
	pc, err := c.OpenUpcallSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := dp.SetPerCPUUpcallPIDs(ctx, DefaultFeatures, []uint32{pc.PID()}); err != nil {
		t.Fatalf("SetPerCPUUpcallPIDs: %v", err)
	}
	info, err := dp.Info(ctx)
	if err != nil || info.Features&FeatureDispatchUpcallPerCPU == 0 {
		t.Fatalf("features after SetPerCPUUpcallPIDs: %v, %v", info.Features, err)
	}
	go func() { done <- vmtest.Ping(t, vm2, netip.MustParseAddr("10.0.0.1"), 1) }()
	for {
		if err := pc.Receive(ctx, &u); err != nil {
			t.Fatalf("per-CPU Receive: %v", err)
		}
		if u.Key.InPort == 2 {
			break
		}
	}
	<-done
}

func TestKernelDpctlInterop(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	dp, _, _ := twoVMs(t, c, 0)

	// A flow added by ovs-dpctl decodes with its mask.
	vmtest.Run(t, "ovs-dpctl", "add-flow", "hvk-dp",
		"in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1/255.255.255.0,dst=10.0.0.2,proto=1,tos=0/0,ttl=64/0,frag=no),icmp(type=8/0xff,code=0/0)",
		"set(skb_mark(0x5)),2")
	var flows []datapath.Flow
	for f, err := range dp.Flows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	if len(flows) != 1 {
		t.Fatalf("dumped %d flows", len(flows))
	}
	f := flows[0]
	k, m := f.Match.Key, f.Match.Mask
	// Flows without a UFID are dumped with their unmasked key.
	if mk := k.Masked(&m); mk.IPv4.Src != netip.MustParseAddr("10.0.0.0") || mk.IPv4.TTL != 0 {
		t.Errorf("masked key %+v", mk.IPv4)
	}
	if k.InPort != 1 || k.EtherType != 0x0800 || k.IPv4.Src != netip.MustParseAddr("10.0.0.1") ||
		m.IPv4.Src != netip.MustParseAddr("255.255.255.0") || k.IPv4.Dst != netip.MustParseAddr("10.0.0.2") ||
		m.IPv4.Dst != netip.MustParseAddr("255.255.255.255") || k.IPv4.Proto != 1 || k.ICMP.Type != 8 || m.ICMP.Code != 0 {
		t.Errorf("ovs-dpctl flow decodes to key %+v mask %+v", k, m)
	}
	// The same flow, as ovs-dpctl prints it and as we print it.
	dpctlSame(t, dpctlLine(t, "in_port(1)"), f.Match, f.Actions)
	wantActs := datapath.Actions{datapath.Set[datapath.Mark]{Value: 5}, datapath.Output{Port: 2}}
	if !slices.Equal(f.Actions, wantActs) {
		// The kernel may store the set as a masked set.
		t.Logf("actions %#v", f.Actions)
		if len(f.Actions) != 2 || f.Actions[1] != (datapath.Output{Port: 2}) {
			t.Errorf("actions %#v, want %#v", f.Actions, wantActs)
		}
	}
	// Our flow (set_masked, ct, recirc, userspace) shows in ovs-dpctl.
	ours := fwd(1, 2, 0x0806,
		datapath.SetMasked[datapath.EthernetKey]{Value: datapath.EthernetKey{Dst: topology.BroadcastMAC}, Mask: datapath.EthernetKey{Dst: topology.BroadcastMAC}},
		datapath.Userspace{PID: 42, Userdata: []byte{1, 2, 3, 4}},
		datapath.Output{Port: 1})
	if err := dp.PutFlow(ctx, &ours, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	line := dpctlLine(t, "in_port(2)")
	dpctlSame(t, line, ours.Match, ours.Actions)
	for _, want := range []string{"eth_type(0x0806)", "set(eth(dst=ff:ff:ff:ff:ff:ff))", "userspace(pid=42", "actions:"} {
		if !strings.Contains(line, want) {
			t.Errorf("ovs-dpctl line %q lacks %q", line, want)
		}
	}
	got, err := dp.GetFlow(ctx, &datapath.Flow{UFID: ours.UFID})
	if err != nil || !slices.EqualFunc(got.Actions, ours.Actions, func(a, b datapath.Action) bool {
		ua, ok1 := a.(datapath.Userspace)
		ub, ok2 := b.(datapath.Userspace)
		if ok1 && ok2 {
			return ua.PID == ub.PID && string(ua.Userdata) == string(ub.Userdata)
		}
		return a == b
	}) {
		t.Errorf("GetFlow actions %#v, %v; want %#v", got.Actions, err, ours.Actions)
	}
}

// TestKernelDpctlCheckPktLen: a check_pkt_len action we install shows in
// ovs-dpctl exactly as we print it and comes back from the kernel equal;
// one ovs-dpctl installs decodes.
func TestKernelDpctlCheckPktLen(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	dp, _, _ := twoVMs(t, c, 0)
	ours := fwd(7, 2, 0x0800, datapath.CheckPktLen{PktLen: 1414,
		Greater: datapath.Actions{datapath.Userspace{PID: 42}},
		LessEqual: datapath.Actions{
			datapath.SetMasked[datapath.EthernetKey]{Value: datapath.EthernetKey{Dst: topology.BroadcastMAC}, Mask: datapath.EthernetKey{Dst: topology.BroadcastMAC}},
			datapath.Output{Port: 1}}})
	if err := dp.PutFlow(ctx, &ours, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	line := dpctlLine(t, "check_pkt_len")
	dpctlSame(t, line, ours.Match, ours.Actions)
	if !strings.Contains(line, "check_pkt_len(size=1414,gt(userspace(pid=42)),le(set(eth(dst=ff:ff:ff:ff:ff:ff)),1))") {
		t.Errorf("ovs-dpctl line %q", line)
	}
	got, err := dp.GetFlow(ctx, &datapath.Flow{UFID: ours.UFID})
	if err != nil || got.Actions.String() != ours.Actions.String() {
		t.Errorf("GetFlow actions %v, %v; want %v", got.Actions, err, ours.Actions)
	}

	vmtest.Run(t, "ovs-dpctl", "add-flow", "hvk-dp", "in_port(1),eth(),eth_type(0x0806),arp()", "check_pkt_len(size=100,gt(2),le(1,2))")
	want := datapath.CheckPktLen{PktLen: 100, Greater: datapath.Actions{datapath.Output{Port: 2}},
		LessEqual: datapath.Actions{datapath.Output{Port: 1}, datapath.Output{Port: 2}}}
	found := false
	for f, err := range dp.Flows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Match.Key.InPort == 1 && len(f.Actions) == 1 {
			found = f.Actions.String() == (datapath.Actions{want}).String()
			if !found {
				t.Errorf("ovs-dpctl's check_pkt_len decodes as %v, want %v", f.Actions, datapath.Actions{want})
			}
		}
	}
	if !found {
		t.Error("the flow ovs-dpctl added was not dumped")
	}
}

func TestKernelVXLAN(t *testing.T) {
	vmtest.Require(t)
	nsA := vmtest.NewNetNS(t, "hvk-a")
	nsB := vmtest.NewNetNS(t, "hvk-b")
	vmtest.Run(t, "ip", "link", "add", "name", "hvk-ua", "netns", "hvk-a", "type", "veth", "peer", "name", "hvk-ub", "netns", "hvk-b")
	under := map[*vmtest.NetNS][2]string{nsA: {"hvk-ua", "10.1.0.1/24"}, nsB: {"hvk-ub", "10.1.0.2/24"}}
	for ns, cfg := range under {
		ns.Run(t, "ip", "address", "add", cfg[1], "dev", cfg[0])
		ns.Run(t, "ip", "link", "set", cfg[0], "up")
	}
	type side struct {
		ns            *vmtest.NetNS
		dp            *Datapath
		name, overlay string
		remote        netip.Addr
		vx            datapath.PortNumber
	}
	sides := []*side{
		{ns: nsA, name: "hvk-dpa", overlay: "192.168.7.1/24", remote: netip.MustParseAddr("10.1.0.2")},
		{ns: nsB, name: "hvk-dpb", overlay: "192.168.7.2/24", remote: netip.MustParseAddr("10.1.0.1")},
	}
	ctx := kctx(t)
	for _, s := range sides {
		c := kernelClient(t, s.ns)
		s.dp = kernelDatapath(t, c, s.name)
		p, err := s.dp.CreatePort(ctx, datapath.PortSpec{Name: s.name + "-vx", Type: datapath.PortVXLAN})
		if err != nil {
			t.Fatalf("vxlan port: %v", err)
		}
		if p.DstPort != DefaultVXLANPort {
			t.Errorf("vxlan port %+v", p)
		}
		s.vx = p.Number
		s.ns.Run(t, "ip", "address", "add", s.overlay, "dev", s.name)
		s.ns.Run(t, "ip", "link", "set", s.name, "up")
		tun := datapath.Set[datapath.TunnelKey]{Value: datapath.TunnelKey{ID: 77, Dst: s.remote, TTL: 64,
			Flags: datapath.TunnelKeyPresent}}
		flows := []datapath.Flow{
			fwd(1, datapath.LocalPort, 0x0806, tun, datapath.Output{Port: s.vx}),
			fwd(2, datapath.LocalPort, 0x0800, tun, datapath.Output{Port: s.vx}),
			fwd(3, s.vx, 0x0806, datapath.Output{Port: datapath.LocalPort}),
			fwd(4, s.vx, 0x0800, datapath.Output{Port: datapath.LocalPort}),
		}
		if err := s.dp.PutFlows(ctx, flows, datapath.PutCreate); err != nil {
			t.Fatalf("PutFlows: %v", err)
		}
	}
	if err := vmtest.Ping(t, nsA, netip.MustParseAddr("192.168.7.2"), 3); err != nil {
		t.Fatalf("ping over VXLAN: %v", err)
	}
	// B's receive flow saw tunneled packets; its dumped key has the tunnel.
	f, err := sides[1].dp.GetFlow(ctx, &datapath.Flow{UFID: datapath.UFID{0x4b, 4}})
	if err != nil || f.Stats.Packets < 3 {
		t.Fatalf("B's tunnel receive flow: %+v, %v", f.Stats, err)
	}
}

// BenchmarkKernelPutFlow compares installing flows one request at a time
// with PutFlows batches, and removing them with DeleteFlow and DeleteFlows,
// on the real datapath (VM only).
func BenchmarkKernelPutFlow(b *testing.B) {
	vmtest.Require(b)
	c, err := Dial(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	dp, _, err := c.CreateDatapath(ctx, DatapathSpec{Name: "hvk-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.DeleteDatapath(ctx, "hvk-bench")
	const n = 1000
	flows := make([]datapath.Flow, n)
	for i := range flows {
		k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet | datapath.KeyEtherType | datapath.KeyIPv4 | datapath.KeyUDP,
			InPort: 0, EtherType: 0x0800,
			IPv4: datapath.IPv4Key{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("10.9.9.9"), Proto: 17},
			UDP:  datapath.UDPKey{Src: uint16(i), Dst: 53}}
		flows[i] = datapath.Flow{UFID: datapath.UFID{byte(i >> 8), byte(i), 0xbe}, Match: datapath.Match{Key: k, Mask: datapath.ExactMask(k)},
			Actions: datapath.Actions{datapath.Output{Port: 0}}}
	}
	b.Run("single", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range flows {
				if err := dp.PutFlow(ctx, &flows[i], datapath.PutCreate); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := dp.FlushFlows(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
	})
	b.Run("batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := dp.PutFlows(ctx, flows, datapath.PutCreate); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := dp.FlushFlows(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
	})
	ufids := make([]datapath.UFID, n)
	for i := range flows {
		ufids[i] = flows[i].UFID
	}
	deleteBench := func(name string, del func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				if err := dp.PutFlows(ctx, flows, datapath.PutCreate); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := del(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
		})
	}
	deleteBench("delete-single", func() error {
		for i := range flows {
			if _, err := dp.DeleteFlow(ctx, &datapath.Flow{UFID: ufids[i]}); err != nil {
				return err
			}
		}
		return nil
	})
	deleteBench("delete-batch", func() error { return dp.DeleteFlows(ctx, ufids) })
	b.Run("dump", func(b *testing.B) {
		if err := dp.PutFlows(ctx, flows, datapath.PutCreate); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			got := 0
			for _, err := range dp.Flows(ctx) {
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != n {
				b.Fatalf("dumped %d flows", got)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
	})
}

// BenchmarkKernelActionUpcallExecute measures one op: an Execute with a
// userspace action, which makes the kernel send the packet up as an ACTION
// upcall, received on the socket and executed onward (VM only). It is the
// netlink round trip an agent pays per upcall, but the upcall is not a
// table miss, so it is not comparable with the in-process datapath's miss
// benchmarks.
func BenchmarkKernelActionUpcallExecute(b *testing.B) {
	vmtest.Require(b)
	c, err := Dial(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	up, err := c.OpenUpcallSocket()
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	dp, _, err := c.CreateDatapath(ctx, DatapathSpec{Name: "hvk-rtt", UpcallPID: up.PID()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.DeleteDatapath(ctx, "hvk-rtt")
	// Ethernet / IPv4 / UDP, 60 bytes, checksums zero (not checked here).
	frame := make([]byte, 60)
	copy(frame, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x30, 0x39, 0, 53, 0, 26, 0, 0})
	key := datapath.FlowKey{Fields: datapath.KeyInPort, InPort: 0}
	toUser := datapath.Actions{datapath.Userspace{PID: up.PID()}}
	onward := datapath.Actions{datapath.Output{Port: 0}}
	var u datapath.Upcall
	b.ReportAllocs()
	for b.Loop() {
		if err := dp.Execute(ctx, frame, &key, toUser); err != nil {
			b.Fatal(err)
		}
		if err := up.Receive(ctx, &u); err != nil {
			b.Fatal(err)
		}
		if err := dp.Execute(ctx, u.Packet, &u.Key, onward); err != nil {
			b.Fatal(err)
		}
	}
}

// dpctlLine returns the line of ovs-dpctl dump-flows hvk-dp that contains
// sub.
func dpctlLine(t *testing.T, sub string) string {
	t.Helper()
	out := vmtest.Run(t, "ovs-dpctl", "dump-flows", "hvk-dp")
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	t.Fatalf("no %s in ovs-dpctl dump-flows:\n%s", sub, out)
	return ""
}

// dpctlSame checks that an ovs-dpctl dump-flows line shows the megaflow m
// and actions acts exactly as datapath's String methods print them.
func dpctlSame(t *testing.T, line string, m datapath.Match, acts datapath.Actions) {
	t.Helper()
	t.Logf("ovs-dpctl: %s\nours:      %v, actions:%v", line, m, acts)
	key, actions, ok := strings.Cut(line, ", actions:")
	if !ok {
		t.Fatalf("ovs-dpctl line without actions: %q", line)
	}
	if i := strings.Index(key, ", packets:"); i >= 0 {
		key = key[:i]
	}
	if strings.HasPrefix(key, "ufid:") {
		_, key, _ = strings.Cut(key, ", ")
	}
	if key != m.String() {
		t.Errorf("ovs-dpctl shows the match as\n  %s\nwe print\n  %s", key, m.String())
	}
	if strings.TrimSpace(actions) != acts.String() {
		t.Errorf("ovs-dpctl shows the actions as\n  %s\nwe print\n  %s", strings.TrimSpace(actions), acts.String())
	}
}

// ovs-dpctl switches a datapath to per-CPU upcall dispatch as it opens it;
// the module reports that change to WatchChanges, and KeepVportDispatch
// switches it back.
func TestKernelWatchChanges(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	dp := kernelDatapath(t, c, "hvk-watch")
	wctx, stop := context.WithCancel(ctx)
	changes, err := dp.WatchChanges(wctx)
	if err != nil {
		t.Fatalf("WatchChanges: %v", err)
	}
	// Another datapath's changes are not reported for this one.
	other := kernelDatapath(t, c, "hvk-other")
	if err := other.SetFeatures(ctx, DefaultFeatures); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
		t.Fatal("a change of another datapath was reported")
	case <-time.After(300 * time.Millisecond):
	}
	vmtest.Run(t, "ovs-dpctl", "show", "hvk-watch")
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported after ovs-dpctl opened the datapath")
	}
	restored, err := dp.KeepVportDispatch(ctx)
	if err != nil || !restored {
		t.Fatalf("KeepVportDispatch after ovs-dpctl = %v, %v; want restored", restored, err)
	}
	if restored, err := dp.KeepVportDispatch(ctx); err != nil || restored {
		t.Errorf("second KeepVportDispatch = %v, %v; want nothing to restore", restored, err)
	}
	stop()
	for range changes { // drains, then ends: the channel is closed
	}
}

// Upcalls nobody reads take memory in the socket's receive queue, which
// QueuedBytes reports; reading them frees it.
func TestKernelUpcallQueuedBytes(t *testing.T) {
	vmtest.Require(t)
	ctx := kctx(t)
	c := kernelClient(t, nil)
	up, err := c.OpenUpcallSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if n, err := up.QueuedBytes(); err != nil || n != 0 {
		t.Fatalf("QueuedBytes of a new socket = %d, %v", n, err)
	}
	_, vm1, _ := twoVMs(t, c, up.PID())
	// No flows: every ARP request of the ping is a miss, queued unread.
	_ = vmtest.Ping(t, vm1, netip.MustParseAddr("10.0.0.2"), 1)
	queued, err := up.QueuedBytes()
	if err != nil || queued == 0 {
		t.Fatalf("QueuedBytes after unanswered misses = %d, %v; want > 0", queued, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	var u datapath.Upcall
	n := 0
	for up.Receive(rctx, &u) == nil {
		n++
	}
	after, err := up.QueuedBytes()
	if err != nil || after >= queued {
		t.Errorf("QueuedBytes after reading %d upcalls = %d, %v; want less than %d", n, after, err, queued)
	}
	t.Logf("%d bytes queued, %d after reading %d upcalls", queued, after, n)
}
