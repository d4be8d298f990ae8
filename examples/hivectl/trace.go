package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/simulation"
)

// trace: POST /v1/trace, the simulation of one packet against the
// network's current topology and state tables, printed as the trace
// command (examples/trace) prints it; both run simulation/harness.

func traceFlags(fs *flag.FlagSet) func(*env) error {
	var req api.TraceRequest
	s := &req.Spec
	fs.StringVar(&s.From, "from", "", "exterior `port` the packet enters (required)")
	fs.StringVar(&s.ICMPEcho, "icmp-echo", "", "send an ICMP echo request to `address` (or VM name)")
	fs.StringVar(&s.TCP, "tcp", "", "send TCP `src:port->dst:port` (src may be empty; or just dst:port)")
	fs.StringVar(&s.UDP, "udp", "", "send UDP `src:port->dst:port` (src may be empty; or just dst:port)")
	fs.StringVar(&s.ARPRequest, "arp-request", "", "broadcast an ARP request for `address`")
	fs.StringVar(&s.SrcMAC, "src-mac", "", "source `MAC` (default: the VM's)")
	fs.StringVar(&s.DstMAC, "dst-mac", "", "destination `MAC` (default: the VM or gateway)")
	fs.StringVar(&s.SrcIP, "src-ip", "", "source `address` when the flow gives none (default: the VM's)")
	fs.IntVar(&s.TTL, "ttl", 0, "IPv4 `TTL` (default 64)")
	fs.IntVar(&s.VLAN, "vlan", 0, "send the frame tagged with this VLAN `id` (0: untagged)")
	state := fs.String("state", "", "connection-tracking and NAT state to start from: a JSON `FILE` {\"conns\": [...], \"nats\": [...]}")
	tags := fs.Bool("tags", false, "print the flow's invalidation tags")
	return func(e *env) error {
		if err := e.need(0, 0); err != nil {
			return err
		}
		if s.From == "" {
			e.fs.Usage()
			return fmt.Errorf("%w: --from is required (quote flows: --tcp '10.0.0.5:3456->10.2.0.13:22')", errUsage)
		}
		if *state != "" {
			b, err := os.ReadFile(*state)
			if err != nil {
				return fmt.Errorf("%w: --state: %w", errUsage, err)
			}
			req.State = new(api.TraceState)
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(req.State); err != nil {
				return fmt.Errorf("%w: --state %s: %v", errUsage, *state, err)
			}
		}
		body, _ := json.Marshal(req)
		r, err := e.c.do(e.ctx, request{method: http.MethodPost, path: "/v1/trace", body: body})
		if err != nil {
			return err
		}
		if ok, err := e.structured([][]byte{r.body}, false); ok {
			return err
		}
		var res struct {
			api.TraceResponse
			Trace simulation.Trace `json:"trace"`
		}
		if err := json.Unmarshal(r.body, &res); err != nil {
			return fmt.Errorf("decoding the API's answer: %w", err)
		}
		for _, n := range res.Notes {
			fmt.Fprintln(e.stdout, "harness:", n)
		}
		rule := func(chain string, i int) (string, bool) {
			r, ok := res.Rules[chain+"/"+strconv.Itoa(i)]
			return r, ok
		}
		if err := res.Trace.WriteTextOptions(e.stdout, simulation.TextOptions{Tags: *tags, Legend: true, Rule: rule}); err != nil {
			return err
		}
		delivered := "nowhere"
		if len(res.Delivered) > 0 {
			delivered = strings.Join(res.Delivered, ", ")
		}
		_, err = fmt.Fprintf(e.stdout, "delivered to: %s\n", delivered)
		return err
	}
}
