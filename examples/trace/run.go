package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/l4"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const defaultFile = "examples/topologies/two-bridges-router.yaml"

// options are the command's flags.
type options struct {
	file     string
	from     string
	icmp     string
	tcp      string
	udp      string
	arp      string
	srcMAC   string
	dstMAC   string
	srcIP    string
	ttl      uint
	vlan     uint
	learned  string
	arpSeeds []string
	json     bool
}

// errUsage marks errors in the command line (exit status 2).
var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.from, "from", "", "exterior `port` the packet enters (required)")
	fs.StringVar(&o.icmp, "icmp-echo", "", "send an ICMP echo request to `address`")
	fs.StringVar(&o.tcp, "tcp", "", "send TCP `src:port->dst:port` (src may be empty)")
	fs.StringVar(&o.udp, "udp", "", "send UDP `src:port->dst:port` (src may be empty)")
	fs.StringVar(&o.arp, "arp-request", "", "broadcast an ARP request for `address`")
	fs.StringVar(&o.srcMAC, "src-mac", "", "source `MAC` (default: the VM's)")
	fs.StringVar(&o.dstMAC, "dst-mac", "", "destination `MAC` (default: the VM or gateway)")
	fs.StringVar(&o.srcIP, "src-ip", "", "source `address` for -icmp-echo and -arp-request (default: the VM's)")
	fs.UintVar(&o.ttl, "ttl", 64, "IPv4 `TTL`")
	fs.UintVar(&o.vlan, "vlan", 0, "send the frame tagged with this VLAN `id` (0: untagged)")
	fs.StringVar(&o.learned, "learned", "", "comma-separated `VMs` to pre-learn (default all, \"none\" for none)")
	fs.Func("arp", "add an ARP entry `router/ip=mac` (repeatable)", func(s string) error {
		o.arpSeeds = append(o.arpSeeds, s)
		return nil
	})
	fs.BoolVar(&o.json, "json", false, "print the trace as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trace -from PORT (-icmp-echo IP | -tcp SRC:P->DST:P | -udp SRC:P->DST:P | -arp-request IP) [flags] [topology.yaml]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch fs.NArg() {
	case 0:
		o.file = defaultFile
	case 1:
		o.file = fs.Arg(0)
	default:
		fs.Usage()
		return nil, fmt.Errorf("%w: more than one topology file", errUsage)
	}
	if o.from == "" {
		fs.Usage()
		return nil, fmt.Errorf("%w: -from is required", errUsage)
	}
	n := 0
	for _, s := range []string{o.icmp, o.tcp, o.udp, o.arp} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		fs.Usage()
		return nil, fmt.Errorf("%w: give exactly one of -icmp-echo, -tcp, -udp, -arp-request", errUsage)
	}
	if o.ttl > 255 || o.vlan > 4095 {
		return nil, fmt.Errorf("%w: -ttl must be at most 255 and -vlan at most 4095", errUsage)
	}
	return o, nil
}

// run is the command: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "trace:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := trace(o, stdout); err != nil {
		fmt.Fprintln(stderr, "trace:", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func trace(o *options, stdout io.Writer) error {
	t, err := topofile.LoadFile(o.file)
	if err != nil {
		return err
	}
	w := newWorld(t)
	in, err := w.port(o.from)
	if err != nil {
		return err
	}
	frame, err := w.frame(o, in)
	if err != nil {
		return err
	}
	st, err := w.state(o)
	if err != nil {
		return err
	}
	// Stateful services as an agent runs them: connection tracking and NAT
	// tables, and a NAT port leaser claiming blocks from an embedded NSDB.
	db := memory.NewServer(memory.Config{})
	client := db.NewClient()
	defer client.Close()
	leaser := nat.NewLeaser(nat.LeaserConfig{Allocator: nat.NewAllocator(client.Blocks(), nil)})
	defer leaser.Close()
	svc := l4.New(l4.Config{Ports: leaser})
	var r simulation.Result
	e := simulation.New(simulation.Config{})
	for attempt := 0; ; attempt++ {
		if err := e.Simulate(&simulation.Input{
			Snapshot: w.snap, State: st, Stateful: svc, InPort: in.ID, Frame: frame, Trace: true,
		}, &r); err != nil {
			return err
		}
		if r.Verdict != simulation.NotYet || r.Reason != simulation.ReasonStateful || attempt > 0 {
			break
		}
		// A NAT port block is being claimed: wait for it and simulate the
		// packet again from scratch, as the agent's waiting room does.
		wait := svc.Waiting()
		svc.Abort()
		if wait == nil {
			break
		}
		<-wait.Ready()
		if err := wait.Err(); err != nil {
			return fmt.Errorf("claiming a NAT port block: %w", err)
		}
	}
	svc.Abort()
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r.Trace)
	}
	return r.Trace.WriteText(stdout)
}

// parseARPSeed parses "router/ip=mac".
func parseARPSeed(s string) (router string, ip netip.Addr, mac topology.MAC, err error) {
	r, rest, ok1 := strings.Cut(s, "/")
	a, m, ok2 := strings.Cut(rest, "=")
	if !ok1 || !ok2 || r == "" {
		return "", ip, mac, fmt.Errorf("%w: -arp %q is not router/ip=mac", errUsage, s)
	}
	if ip, err = netip.ParseAddr(a); err != nil || !ip.Is4() {
		return "", ip, mac, fmt.Errorf("%w: -arp %q: bad IPv4 address", errUsage, s)
	}
	if mac, err = topology.ParseMAC(m); err != nil {
		return "", ip, mac, fmt.Errorf("%w: -arp %q: %w", errUsage, s, err)
	}
	return r, ip, mac, nil
}
