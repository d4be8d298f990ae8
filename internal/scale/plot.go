package scale

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// series is one line of a plot.
type series struct {
	name string
	xy   plotter.XYs
}

// lines writes an SVG line plot of ss to path.
func lines(path, title, xlabel, ylabel string, logX, logY bool, ss []series, hline float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	var args []any
	for _, s := range ss {
		if len(s.xy) == 0 {
			continue
		}
		args = append(args, s.name, s.xy)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	if hline > 0 && len(ss) > 0 && len(ss[0].xy) > 0 {
		xmin, xmax := ss[0].xy[0].X, ss[0].xy[0].X
		for _, s := range ss {
			for _, pt := range s.xy {
				xmin, xmax = min(xmin, pt.X), max(xmax, pt.X)
			}
		}
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: hline}, {X: xmax, Y: hline}})
		if err != nil {
			return err
		}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("limit %g", hline), l)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(6*vg.Inch, 3.6*vg.Inch, path)
}

// writePlots writes the report's SVG plots into dir.
func writePlots(dir string, r *Results) error {
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	var rssS, heapS, settledS, readyS, snapS, bytesS series
	rssS.name, heapS.name, settledS.name, readyS.name, snapS.name, bytesS.name = "RSS at ready", "heap at ready", "RSS settled", "agent ready", "snapshot build", "bytes read (MB)"
	for _, f := range r.Footprints {
		x := float64(f.Ports)
		rssS.xy = append(rssS.xy, plotter.XY{X: x, Y: mb(f.Memory.RSS)})
		heapS.xy = append(heapS.xy, plotter.XY{X: x, Y: mb(f.Memory.Heap)})
		settledS.xy = append(settledS.xy, plotter.XY{X: x, Y: mb(f.Settled.RSS)})
		readyS.xy = append(readyS.xy, plotter.XY{X: x, Y: f.Ready.Seconds()})
		snapS.xy = append(snapS.xy, plotter.XY{X: x, Y: f.Snapshot.Seconds()})
		bytesS.xy = append(bytesS.xy, plotter.XY{X: x, Y: mb(f.NSDBBytes)})
	}
	if err := lines(filepath.Join(dir, "scale-footprint-memory.svg"), "One agent's memory vs deployment size", "ports in the topology", "MB",
		len(r.Footprints) > 1, false, []series{rssS, heapS, settledS, bytesS}, 0); err != nil {
		return err
	}
	if err := lines(filepath.Join(dir, "scale-footprint-time.svg"), "Load time vs deployment size", "ports in the topology", "seconds",
		len(r.Footprints) > 1, false, []series{readyS, snapS}, 0); err != nil {
		return err
	}
	var p50, p99, pmax, ag series
	p50.name, p99.name, pmax.name, ag.name = "p50 (all hosts)", "p99 (all hosts)", "max (all hosts)", "p50 (one host)"
	for _, p := range r.Propagation {
		x := float64(p.Hosts)
		p50.xy = append(p50.xy, plotter.XY{X: x, Y: ms(p.All.P50)})
		p99.xy = append(p99.xy, plotter.XY{X: x, Y: ms(p.All.P99)})
		pmax.xy = append(pmax.xy, plotter.XY{X: x, Y: ms(p.All.Max)})
		ag.xy = append(ag.xy, plotter.XY{X: x, Y: ms(p.Agent.P50)})
	}
	if err := lines(filepath.Join(dir, "scale-propagation.svg"), "Change propagation vs hosts", "agents (each its own ZooKeeper session)", "ms until applied",
		false, false, []series{p50, p99, pmax, ag}, 0); err != nil {
		return err
	}
	var rs []series
	for _, rc := range r.Rates {
		s := series{name: fmt.Sprintf("%d agents", rc.Hosts)}
		for _, pt := range rc.Points {
			s.xy = append(s.xy, plotter.XY{X: float64(pt.Rate), Y: ms(pt.Lag.P99)})
		}
		rs = append(rs, s)
	}
	if err := lines(filepath.Join(dir, "scale-rate.svg"), "p99 propagation lag vs change rate", "changes/s offered", "p99 lag (ms)",
		true, true, rs, 1000); err != nil {
		return err
	}
	var sh, sr series
	sh.name, sr.name = "heap", "RSS"
	for i, s := range r.Stateful {
		sh.xy = append(sh.xy, plotter.XY{X: float64(i), Y: mb(s.Memory.Heap)})
		sr.xy = append(sr.xy, plotter.XY{X: float64(i), Y: mb(s.Memory.RSS)})
	}
	if err := lines(filepath.Join(dir, "scale-stateful.svg"), fmt.Sprintf("Agent memory as stateful features carry %d connections each", r.StatefulMax),
		"step: 0 idle, 1 +conntrack, 2 +SNAT, 3 +LB", "MB", false, false, []series{sh, sr}, 0); err != nil {
		return err
	}
	var r50, r99, cpu series
	r50.name, r99.name, cpu.name = "p50 latency (ms)", "p99 latency (ms)", "CPU (cores x 10)"
	for i, s := range r.Roles {
		r50.xy = append(r50.xy, plotter.XY{X: float64(i + 1), Y: ms(s.P50)})
		r99.xy = append(r99.xy, plotter.XY{X: float64(i + 1), Y: ms(s.P99)})
		cpu.xy = append(cpu.xy, plotter.XY{X: float64(i + 1), Y: s.CPU * 10})
	}
	return lines(filepath.Join(dir, "scale-roles.svg"), "One node, roles added under a new-flow load",
		"roles: 1 compute, 2 +gateway, 3 +flooding", "ms; cores x 10 (log scale)", false, true, []series{r50, r99, cpu}, 0)
}
