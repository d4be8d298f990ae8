package scale

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Config says what Run measures. The zero value of a field means its
// default (Defaults).
type Config struct {
	// Dir is where Run writes scale.md and its SVG plots (created if
	// missing). Required.
	Dir string
	// Servers is the connect string of an existing ZooKeeper to measure
	// against; empty starts a 3-node ensemble on loopback (Ensemble
	// servers) in a temporary directory.
	Servers  string
	Ensemble int
	// Sizes are the footprint topologies' port counts.
	Sizes []int
	// Idle is how long the idle agent is watched.
	Idle time.Duration
	// Conns is the connections opened per stateful feature.
	Conns int
	// Hosts are the fleet sizes (agents in this process).
	Hosts []int
	// Changes is the number of changes timed per fleet.
	Changes int
	// Rates are the change rates (changes/s) tried per fleet, in order,
	// each for RateLength.
	Rates      []int
	RateLength time.Duration
	// RoleRate is the new flows/s of each stream of the roles test, each
	// stage lasting RoleLength.
	RoleRate   int
	RoleLength time.Duration
	// Logf, if set, reports progress.
	Logf func(format string, args ...any) `json:"-"`
	// Quick marks a reduced run in the report.
	Quick bool
}

// Defaults returns the full run's configuration, or the quick one's: a
// few seconds of each measurement at small sizes.
func Defaults(quick bool) Config {
	if quick {
		return Config{Quick: true, Ensemble: 3, Sizes: []int{200, 1000}, Idle: time.Second, Conns: 2000,
			Hosts: []int{3, 10}, Changes: 6, Rates: []int{10, 50}, RateLength: time.Second,
			RoleRate: 500, RoleLength: time.Second}
	}
	return Config{Ensemble: 3, Sizes: []int{1000, 10000, 100000}, Idle: 10 * time.Second, Conns: 100000,
		Hosts: []int{10, 50, 100, 250}, Changes: 60, Rates: []int{2, 5, 10, 20, 50, 100, 200, 500}, RateLength: 5 * time.Second,
		RoleRate: 5000, RoleLength: 5 * time.Second}
}

// withDefaults fills zero fields from Defaults(c.Quick).
func (c Config) withDefaults() Config {
	d := Defaults(c.Quick)
	if c.Ensemble <= 0 {
		c.Ensemble = d.Ensemble
	}
	if len(c.Sizes) == 0 {
		c.Sizes = d.Sizes
	}
	if c.Idle <= 0 {
		c.Idle = d.Idle
	}
	if c.Conns <= 0 {
		c.Conns = d.Conns
	}
	if len(c.Hosts) == 0 {
		c.Hosts = d.Hosts
	}
	if c.Changes <= 0 {
		c.Changes = d.Changes
	}
	if len(c.Rates) == 0 {
		c.Rates = d.Rates
	}
	if c.RateLength <= 0 {
		c.RateLength = d.RateLength
	}
	if c.RoleRate <= 0 {
		c.RoleRate = d.RoleRate
	}
	if c.RoleLength <= 0 {
		c.RoleLength = d.RoleLength
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// Results is everything Run measured.
type Results struct {
	Config      Config
	Started     time.Time
	Took        time.Duration
	CPUs        int
	LoadBefore  string // 1/5/15-minute load averages before and after
	LoadAfter   string
	Ensemble    string // what ZooKeeper ran
	Footprints  []Footprint
	Stateful    []StatefulStep
	StatefulMax int
	Roles       []RoleStage
	Propagation []Propagation
	Rates       []RateCurve
	// Errors are the fleets whose measurement failed (the run goes on).
	Errors []string
}

// Run measures what cfg says against real ZooKeeper servers and agents,
// writes cfg.Dir/scale.md and its plots, and returns the results.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return nil, fmt.Errorf("scale: no output directory")
	}
	r := &Results{Config: cfg, Started: time.Now().UTC(), CPUs: runtime.NumCPU(), LoadBefore: loadAvg()}
	ens := &Ensemble{Servers: cfg.Servers}
	r.Ensemble = "given: " + cfg.Servers
	if cfg.Servers == "" {
		// The members' data directories go to memory where there is a
		// tmpfs: on a shared disk their fsyncs, not hivenet, would set
		// every write's latency.
		base := ""
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			base = "/dev/shm"
		}
		dir, err := os.MkdirTemp(base, "hivenet-scale-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.Logf("starting a %d-node ZooKeeper ensemble", cfg.Ensemble)
		if ens, err = StartEnsemble(ctx, dir, cfg.Ensemble); err != nil {
			return nil, fmt.Errorf("scale: ensemble: %w", err)
		}
		defer ens.Close()
		r.Ensemble = fmt.Sprintf("%d-node ensemble started by the harness on loopback (Debian's ZooKeeper 3.8; defaults: 2 s ticks, fsync per write; 1 GB heap; data in %s)", cfg.Ensemble, dir)
	}
	root := fmt.Sprintf("/hivenet-scale-%d", time.Now().UnixNano())
	for _, n := range cfg.Sizes {
		cfg.Logf("footprint: %d ports", n)
		fp, err := measureFootprint(ctx, ens, fmt.Sprintf("%s/fp%d", root, n), n, cfg.Idle)
		if err != nil {
			return nil, fmt.Errorf("scale: footprint %d: %w", n, err)
		}
		r.Footprints = append(r.Footprints, fp)
	}
	cfg.Logf("footprint: %d connections per stateful feature", cfg.Conns)
	st, err := measureStateful(ctx, ens, root+"/stateful", cfg.Conns)
	if err != nil {
		return nil, fmt.Errorf("scale: stateful: %w", err)
	}
	r.Stateful, r.StatefulMax = st, cfg.Conns
	cfg.Logf("roles: %d new flows/s per stream", cfg.RoleRate)
	if r.Roles, err = measureRoles(ctx, ens, root+"/roles", cfg.RoleRate, cfg.RoleLength); err != nil {
		return nil, fmt.Errorf("scale: roles: %w", err)
	}
	for _, h := range cfg.Hosts {
		cfg.Logf("propagation: %d agents", h)
		f, err := startFleet(ctx, ens, fmt.Sprintf("%s/fleet%d", root, h), h)
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("fleet of %d: %v", h, err))
			continue
		}
		p, err := measurePropagation(ctx, f, cfg.Changes)
		if err == nil {
			r.Propagation = append(r.Propagation, p)
			cfg.Logf("change rate: %d agents", h)
			var rc RateCurve
			rc, err = measureRate(ctx, f, cfg.Rates, cfg.RateLength)
			r.Rates = append(r.Rates, rc)
		}
		f.close()
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("fleet of %d: %v", h, err))
		}
	}
	r.Took, r.LoadAfter = time.Since(r.Started), loadAvg()
	return r, Write(cfg.Dir, r)
}

// Write writes r to dir: scale.md, its SVG plots, and scale.json (the
// results, which Read takes back to render the report again).
func Write(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scale.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := writePlots(dir, r); err != nil {
		return fmt.Errorf("scale: plots: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "scale.md"), report(r), 0o644)
}

// Read reads the results a run wrote to path (scale.json).
func Read(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := new(Results)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("scale: %s: %w", path, err)
	}
	return r, nil
}
