package localstore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config's zero fields: the reference's flow-state store
// (256 KiB blocks, 512 per port, two minutes' retention, an expiry check
// every 30 s).
const (
	DefaultBlockSize      = 256 << 10
	DefaultBlocksPerPort  = 512
	DefaultRetention      = 2 * time.Minute
	DefaultFlushInterval  = 20 * time.Millisecond
	DefaultExpireInterval = 30 * time.Second
	DefaultMaxOpenFiles   = 256
)

// Errors.
var (
	// ErrConfig: the Config is unusable.
	ErrConfig = errors.New("localstore: invalid config")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("localstore: closed")
)

// Config configures a Store. Dir is required; every zero field takes the
// documented default.
type Config struct {
	// Dir holds one file per port; it is created if missing. Two stores
	// must not write to the same directory at once.
	Dir string
	// BlockSize is the size of a block, in [MinBlockSize, MaxBlockSize]
	// (default 256 KiB). A directory's files are read with the block size
	// they were written with; changing it makes older files unreadable
	// (their blocks are skipped as corrupt, then expire).
	BlockSize int
	// BlocksPerPort bounds each port's ring (default 512: 128 MiB per port
	// with the default block size).
	BlocksPerPort int
	// Retention is how long a block lives after its last record (default
	// two minutes, twice the keys' idle timeout).
	Retention time.Duration
	// FlushInterval is how often saved records are written to the files
	// (default 20 ms); -1 writes only when a block fills, on Flush, Load
	// and Close.
	FlushInterval time.Duration
	// ExpireInterval is how often files with no live block are deleted
	// (default 30 s); -1 never, except on Expire.
	ExpireInterval time.Duration
	// MaxOpenFiles bounds the files kept open for writing (default 256).
	MaxOpenFiles int
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives skipped blocks and write failures; nil discards.
	Logger *slog.Logger
	// Registerer registers the store's metrics (hivenet_flowstate_store_*);
	// nil registers nothing.
	Registerer prometheus.Registerer
}

func (c *Config) withDefaults() error {
	if c.Dir == "" {
		return fmt.Errorf("%w: Dir is required", ErrConfig)
	}
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.BlockSize < MinBlockSize || c.BlockSize > MaxBlockSize {
		return fmt.Errorf("%w: BlockSize %d out of [%d, %d]", ErrConfig, c.BlockSize, MinBlockSize, MaxBlockSize)
	}
	if c.BlocksPerPort == 0 {
		c.BlocksPerPort = DefaultBlocksPerPort
	}
	if c.BlocksPerPort < 2 || c.BlocksPerPort > 1<<20 {
		return fmt.Errorf("%w: BlocksPerPort %d out of [2, %d]", ErrConfig, c.BlocksPerPort, 1<<20)
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.ExpireInterval == 0 {
		c.ExpireInterval = DefaultExpireInterval
	}
	if c.MaxOpenFiles <= 0 {
		c.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
