package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/hivenet/hivenet/examples/topologies"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const defaultFile = "two-bridges-router.yaml"

// options are the command's flags.
type options struct {
	file     string
	spec     harness.Spec
	ttl      uint
	vlan     uint
	learned  string
	arpSeeds []string
	json     bool
	tags     bool
	maxSize  int64
}

// errUsage marks errors in the command line (exit status 2).
var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	s := &o.spec
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.From, "from", "", "exterior `port` the packet enters (required)")
	fs.StringVar(&s.ICMPEcho, "icmp-echo", "", "send an ICMP echo request to `address` (or VM name)")
	fs.StringVar(&s.TCP, "tcp", "", "send TCP `src:port->dst:port` (src may be empty; or just dst:port)")
	fs.StringVar(&s.UDP, "udp", "", "send UDP `src:port->dst:port` (src may be empty; or just dst:port)")
	fs.StringVar(&s.ARPRequest, "arp-request", "", "broadcast an ARP request for `address`")
	fs.StringVar(&s.SrcMAC, "src-mac", "", "source `MAC` (default: the VM's)")
	fs.StringVar(&s.DstMAC, "dst-mac", "", "destination `MAC` (default: the VM or gateway)")
	fs.StringVar(&s.SrcIP, "src-ip", "", "source `address` when the flow gives none (default: the VM's)")
	fs.UintVar(&o.ttl, "ttl", harness.DefaultTTL, "IPv4 `TTL`")
	fs.UintVar(&o.vlan, "vlan", 0, "send the frame tagged with this VLAN `id` (0: untagged)")
	fs.StringVar(&o.learned, "learned", "", "comma-separated `VMs` to pre-learn (default all, \"none\" for none)")
	fs.Func("arp", "add an ARP entry `router/ip=mac` (repeatable)", func(s string) error {
		o.arpSeeds = append(o.arpSeeds, s)
		return nil
	})
	fs.BoolVar(&o.json, "json", false, "print the trace as JSON")
	fs.BoolVar(&o.tags, "tags", false, "print the flow's invalidation tags")
	fs.StringVar(&o.file, "f", defaultFile, "topology `FILE` (\"-\" for stdin, or an embedded example's name)")
	fs.Int64Var(&o.maxSize, "max-size", topologies.DefaultMaxSize, "read at most `BYTES` of topology")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trace -from PORT (-icmp-echo IP | -tcp SRC:P->DST:P | -udp SRC:P->DST:P | -arp-request IP) [-f FILE] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return nil, fmt.Errorf("%w: unexpected arguments %q (the topology file is given with -f; quote flows: -tcp ':1000->10.0.0.1:80')", errUsage, fs.Args())
	}
	if s.From == "" {
		fs.Usage()
		return nil, fmt.Errorf("%w: -from is required", errUsage)
	}
	n := 0
	for _, v := range []string{s.ICMPEcho, s.TCP, s.UDP, s.ARPRequest} {
		if v != "" {
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
	s.TTL, s.VLAN = int(o.ttl), int(o.vlan)
	return o, nil
}

// run is the command: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "trace:", err)
		return 2
	}
	if err := trace(o, stdout); err != nil {
		fmt.Fprintln(stderr, "trace:", err)
		if errors.Is(err, errUsage) || errors.Is(err, harness.ErrUnknownName) ||
			errors.Is(err, harness.ErrNotExterior) || errors.Is(err, harness.ErrBadPacket) {
			return 2
		}
		return 1
	}
	return 0
}

// trace loads the topology into a harness, seeds its state as the flags
// say, sends the packet and prints the trace.
func trace(o *options, stdout io.Writer) error {
	pkt, err := o.spec.Packet()
	if err != nil {
		return err
	}
	topo, err := topologies.Load(o.file, os.Stdin, o.maxSize)
	if err != nil {
		return err
	}
	// The formatter reads topo only: it is built while the harness is.
	formatter := make(chan *topofile.Formatter, 1)
	go func() { formatter <- topofile.NewFormatter(topo) }()
	h, err := harness.New(topo, harness.Config{Cold: o.learned != "", Validated: true})
	if err != nil {
		return err
	}
	if o.learned != "" && o.learned != "none" {
		for _, name := range strings.Split(o.learned, ",") {
			if err := h.Learn(strings.TrimSpace(name)); err != nil {
				return fmt.Errorf("%w: -learned: %w", errUsage, err)
			}
		}
	}
	for _, s := range o.arpSeeds {
		router, ip, mac, err := parseARPSeed(s)
		if err != nil {
			return err
		}
		if err := h.SetARP(router, ip, mac); err != nil {
			return fmt.Errorf("%w: -arp: %w", errUsage, err)
		}
	}
	r, err := h.Send(o.spec.From, pkt)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r.Trace)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(stdout, "harness:", n)
	}
	f := <-formatter
	ruleText := func(chain string, i int) (string, bool) {
		id, err := topology.ParseID(chain)
		if err != nil {
			return "", false
		}
		c, ok := h.Snapshot().Chain(id)
		if !ok || i >= len(c.Rules) {
			return "", false
		}
		return f.Rule(&c.Rules[i]), true
	}
	if err := r.Trace.WriteTextOptions(stdout, simulation.TextOptions{Tags: o.tags, Legend: true, Rule: ruleText}); err != nil {
		return err
	}
	if r.Trace.Reason == simulation.ReasonARPPending.String() && r.Trace.Waiting != "" {
		fmt.Fprintf(stdout, "hint: %s is outside the topology: no VM answers it here; give its MAC with -arp ROUTER/IP=MAC\n", r.Trace.Waiting)
	}
	for _, g := range r.Generated {
		if _, err := fmt.Fprintf(stdout, "followed: packet generated out of %s: %s\n", g.From, g); err != nil {
			return err
		}
	}
	return nil
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
