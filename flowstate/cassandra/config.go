package cassandra

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hivenet/hivenet/flowstate"
)

// Defaults.
const (
	DefaultKeyspace       = "hivenet_flowstate"
	DefaultTimeout        = 5 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	// maxBatch bounds the rows of one unlogged batch, well under
	// Cassandra's default batch size failure threshold (50 KiB).
	maxBatch = 64
)

// ErrConfig: the Config is unusable.
var ErrConfig = errors.New("flowstate/cassandra: invalid config")

// Config configures a Store. Hosts is required; zero fields take the
// documented defaults.
type Config struct {
	// Hosts are the contact points, host:port.
	Hosts []string
	// Keyspace holds the tables (default hivenet_flowstate).
	Keyspace string
	// Consistency of reads and writes (default QUORUM).
	Consistency gocql.Consistency
	// TTL of every row: the keys' idle expiry (default flowstate's, 60 s).
	TTL time.Duration
	// Timeout bounds each request (default 5 s); contexts bound them too.
	Timeout time.Duration
	// ConnectTimeout bounds connecting (default 10 s).
	ConnectTimeout time.Duration
	// CreateSchema creates the keyspace (SimpleStrategy with
	// ReplicationFactor replicas, default 1) and the tables if missing.
	CreateSchema      bool
	ReplicationFactor int
	// Logger receives the store's and the driver's logs; nil discards.
	Logger *slog.Logger
}

var keyspaceName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,47}$`)

func (c *Config) withDefaults() error {
	if len(c.Hosts) == 0 {
		return fmt.Errorf("%w: Hosts is required", ErrConfig)
	}
	if c.Keyspace == "" {
		c.Keyspace = DefaultKeyspace
	}
	if !keyspaceName.MatchString(c.Keyspace) {
		return fmt.Errorf("%w: keyspace %q is not a CQL identifier", ErrConfig, c.Keyspace)
	}
	if c.Consistency == 0 {
		c.Consistency = gocql.Quorum
	}
	if c.TTL <= 0 {
		c.TTL = flowstate.DefaultIdleTimeout
	}
	if c.TTL < time.Second {
		return fmt.Errorf("%w: TTL %v under a second", ErrConfig, c.TTL)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
