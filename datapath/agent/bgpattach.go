package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

// BGPPortInfo is what attaching a speaker needs to know of its uplink
// port.
type BGPPortInfo struct {
	Port topology.ID
	// Name is the port's name (or ID).
	Name string
	// Addr is the port's address with the length of its subnet; MAC its
	// hardware address.
	Addr netip.Prefix
	MAC  topology.MAC
}

// BGPAttach wires the speaker of a port to the datapath: it returns the
// network interface the agent adds as the speaker's datapath port, the
// network namespace the speaker runs in (empty: the agent's), and a
// function that undoes it.
type BGPAttach func(ctx context.Context, p BGPPortInfo) (ifname, netns string, detach func(), err error)

// NetnsAttach creates, for each speaker, a network namespace
// "hbgp-XXXXXXXX" (the first eight hex digits of the port's ID) and a veth
// pair: "hb-XXXXXXXX" stays in the agent's namespace (the speaker's
// datapath port), "bgp0" goes into the namespace with the port's address
// and MAC, up, as is the namespace's loopback. It needs root and iproute2.
// A namespace left over by a previous agent is deleted first.
func NetnsAttach(ctx context.Context, p BGPPortInfo) (string, string, func(), error) {
	short := strings.ReplaceAll(p.Port.String(), "-", "")[:8]
	ns, host := "hbgp-"+short, "hb-"+short
	ip := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	_ = exec.Command("ip", "netns", "del", ns).Run()
	_ = exec.Command("ip", "link", "del", host).Run()
	detach := func() {
		_ = exec.Command("ip", "netns", "del", ns).Run()
		_ = exec.Command("ip", "link", "del", host).Run()
	}
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", "name", host, "type", "veth", "peer", "name", "bgp0", "netns", ns},
		{"link", "set", host, "up"},
		{"-n", ns, "link", "set", "bgp0", "address", p.MAC.String()},
		{"-n", ns, "addr", "add", p.Addr.String(), "dev", "bgp0"},
		{"-n", ns, "link", "set", "bgp0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			detach()
			return "", "", nil, err
		}
	}
	return host, ns, detach, nil
}

// attachSpeaker wires bp's speaker with BGPConfig.Attach, if set, and
// returns its network namespace.
func (a *Agent) attachSpeaker(ctx context.Context, bp *bgpPort) (string, error) {
	attach := a.cfg.BGP.Attach
	if attach == nil {
		return "", nil
	}
	wd := a.world.Load()
	p, ok := wd.snap.Port(bp.port)
	uplink, local := wd.local[bp.port]
	if !ok || !local {
		return "", errors.New("port not bound here")
	}
	bits := 32
	for _, s := range p.Subnets {
		if s.Contains(p.Address) {
			bits = s.Bits()
		}
	}
	ifname, netns, detach, err := attach(ctx, BGPPortInfo{Port: p.ID, Name: portName(p), Addr: netip.PrefixFrom(p.Address, bits), MAC: p.MAC})
	if err != nil {
		return "", err
	}
	dp, err := a.createVMPort(ctx, ifname)
	if err != nil {
		detach()
		return "", fmt.Errorf("datapath port %s: %w", ifname, err)
	}
	peers := map[netip.Addr]bool{}
	for _, pr := range bp.cfg.Peers {
		peers[pr.Addr] = true
	}
	bp.link = &bgpLink{port: p.ID, uplink: uplink, veth: dp.Number, addr: p.Address, peers: peers}
	bp.detach = detach
	return netns, nil
}

// detachSpeaker undoes attachSpeaker.
func (a *Agent) detachSpeaker(ctx context.Context, bp *bgpPort) {
	if bp.link == nil {
		return
	}
	a.setBGPLink(bp.port, nil)
	if err := a.dp.DeletePort(ctx, bp.link.veth); err != nil && !errors.Is(err, datapath.ErrNotFound) {
		a.log.Warn("cannot delete the BGP speaker's datapath port", a.named("port", topology.KindPort, bp.port), "err", err)
	}
	if bp.detach != nil {
		bp.detach()
	}
	bp.link, bp.detach = nil, nil
}
