package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Name is the service's name in a cluster node.
const Name = "vxgw"

// Defaults for the zero values of Config.
const (
	// DefaultManagementPort is the VTEP's OVSDB port when the VTEP object
	// gives none (the hardware_vtep convention).
	DefaultManagementPort = 6632
	// DefaultBatchSize bounds the MAC rows one OVSDB transaction writes.
	DefaultBatchSize = 1000
	// DefaultSettle bounds the wait for the VTEP's database to show the
	// gateway's last transaction before it plans the next one.
	DefaultSettle = 5 * time.Second
	// DefaultRetry is the first pause after a failed write; it doubles up
	// to 30 s.
	DefaultRetry = 200 * time.Millisecond
)

// ErrConfig is wrapped by New's errors.
var ErrConfig = errors.New("gateway: invalid configuration")

// Config configures a Service. NSDB and Node are required.
type Config struct {
	// NSDB is the cluster node's client. Everything the service publishes
	// is owned by its session.
	NSDB nsdb.Client
	// Node and NodeName identify the cluster node in the VTEP's published
	// connection state (cluster.NodeID of the node's name).
	Node     topology.ID
	NodeName string
	// Endpoint returns the OVSDB endpoint of a VTEP ("tcp:IP:PORT" or
	// "unix:PATH"). Nil means tcp: to its management address and port
	// (DefaultManagementPort when the port is zero).
	Endpoint func(*topology.VTEP) (string, error)
	// EchoInterval, MinBackoff and MaxBackoff configure the OVSDB
	// keepalive and reconnection (vxgw/ovsdb's defaults when zero).
	EchoInterval           time.Duration
	MinBackoff, MaxBackoff time.Duration
	// BatchSize bounds the MAC rows written per OVSDB transaction
	// (DefaultBatchSize).
	BatchSize int
	// Settle is DefaultSettle when zero.
	Settle time.Duration
	// Retry is DefaultRetry when zero.
	Retry time.Duration
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Registerer registers the hivenet_vxgw_* metrics; nil registers
	// nothing.
	Registerer prometheus.Registerer
}

// Service is the VxLAN gateway: a cluster service with one instance per
// VTEP (cluster.PerEntity, owned through nsdb.KeyVTEPManager) that keeps
// the VTEP's hardware_vtep database and the NSDB in step. See the package
// documentation.
type Service struct {
	cfg Config
	log *slog.Logger
	m   *metrics
}

// New returns the gateway service for cfg.
func New(cfg Config) (*Service, error) {
	if cfg.NSDB == nil || cfg.Node.IsZero() {
		return nil, fmt.Errorf("%w: NSDB and Node are required", ErrConfig)
	}
	if cfg.Endpoint == nil {
		cfg.Endpoint = TCPEndpoint
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Service{cfg: cfg, log: log, m: m}, nil
}

// Name implements cluster.EntityService.
func (*Service) Name() string { return Name }

// RunEntity implements cluster.EntityService: it manages the VTEP with id
// until ctx ends (the node lost the VTEP's ownership, the VTEP was deleted,
// or the node stops).
func (g *Service) RunEntity(ctx context.Context, id topology.ID) error {
	return newSyncer(g, id).run(ctx)
}

// TCPEndpoint is the default Config.Endpoint: "tcp:" and the VTEP's
// management address and port.
func TCPEndpoint(v *topology.VTEP) (string, error) {
	if !v.ManagementIP.IsValid() {
		return "", fmt.Errorf("VTEP %s has no management address", v.Name)
	}
	port := v.ManagementPort
	if port == 0 {
		port = DefaultManagementPort
	}
	return "tcp:" + netip.AddrPortFrom(v.ManagementIP, port).String(), nil
}

// backoff returns the pause after n consecutive failures.
func (g *Service) backoff(n int) time.Duration {
	d := g.cfg.Retry
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

func itoa(n int) string { return strconv.Itoa(n) }
