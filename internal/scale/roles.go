package scale

import (
	"context"
	"slices"
	"time"

	"github.com/hivenet/hivenet/datapath/inproc"
)

// RoleStage is one agent's cost under a new-flow load as roles are added:
// compute host (east-west connections through security groups), gateway
// (source NAT out, floating IP in), flooding (frames to unknown MACs
// flooded by the bridge).
type RoleStage struct {
	Roles   string   `json:"roles"`
	Streams []string `json:"streams"`
	// Offered is the new flows per second offered (all streams), Sent
	// and Delivered the packets.
	Offered   int `json:"offered"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	// P50, P99 and Max are the new-flow latencies: from the packet's send
	// into the datapath to its arrival at the destination endpoint
	// (upcall, simulation, install, execute).
	P50, P99, Max time.Duration
	// CPU is the cores the process used (agent and load driver).
	CPU float64 `json:"cpu"`
	// PerStream holds each stream's p50 and p99.
	PerStream map[string][2]time.Duration `json:"per_stream"`
}

// roleStages are the stages, each adding streams to the previous.
var roleStages = []struct {
	roles   string
	streams []string
}{
	{"compute", []string{"conntrack"}},
	{"compute + gateway", []string{"conntrack", "snat", "fip"}},
	{"compute + gateway + flooding", []string{"conntrack", "snat", "fip", "flood"}},
}

// measureRoles loads the edge topology under root and measures, in a child
// process, one agent under rate new flows/s per stream for length per
// stage.
func measureRoles(ctx context.Context, ens *Ensemble, root string, rate int, length time.Duration) ([]RoleStage, error) {
	if err := loadEdge(ctx, ens.Servers, root); err != nil {
		return nil, err
	}
	var st []RoleStage
	err := runChild(ctx, job{Kind: "roles", Servers: ens.Servers, Root: root, Host: "h0", Rate: rate, Length: length}, &st)
	return st, err
}

func rolesChild(ctx context.Context, j job) ([]RoleStage, error) {
	ra, err := startAgent(ctx, j.Servers, j.Root, j.Host, true, 1<<14)
	if err != nil {
		return nil, err
	}
	defer ra.stop()
	eps, err := edgeEndpoints(ra)
	if err != nil {
		return nil, err
	}
	outs := []*inproc.Endpoint{eps["server"], eps["backend"], eps["client2"], eps["uplink"]}
	n := int(float64(j.Rate)*j.Length.Seconds()) + 1
	var out []RoleStage
	for k, stage := range roleStages {
		all := edgeStreams(eps, 1000*(k+2))
		var streams []*stream
		for _, name := range stage.streams {
			streams = append(streams, all[name])
		}
		d := newDriver(streams, outs, n)
		c0, t0 := cpuTime(), time.Now()
		d.openLoop(ctx, j.Rate, j.Length)
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			done := true
			for _, s := range streams {
				done = done && s.got.Load() >= s.n.Load()
			}
			if done {
				break
			}
			time.Sleep(time.Millisecond) // polling the receivers' count
		}
		cpu := (cpuTime() - c0).Seconds() / time.Since(t0).Seconds()
		d.stop()
		rs := RoleStage{Roles: stage.roles, Streams: stage.streams, Offered: j.Rate * len(streams), CPU: cpu, PerStream: make(map[string][2]time.Duration)}
		var lat []time.Duration
		for _, s := range streams {
			l, sent := s.latencies()
			rs.Sent += sent
			rs.Delivered += len(l)
			rs.PerStream[s.name] = [2]time.Duration{quantile(l, 0.5), quantile(l, 0.99)}
			lat = append(lat, l...)
		}
		slices.Sort(lat)
		rs.P50, rs.P99 = quantile(lat, 0.5), quantile(lat, 0.99)
		if len(lat) > 0 {
			rs.Max = lat[len(lat)-1]
		}
		out = append(out, rs)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
