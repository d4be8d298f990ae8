package localstore

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers the store's counters on reg (nil: none).
func (s *Store) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "hivenet", Subsystem: "flowstate_store", Name: name, Help: help,
		}, func() float64 { return float64(v.Load()) })
	}
	for _, c := range []prometheus.Collector{
		counter("records_written_total", "Records saved (one per port of each message).", &s.written),
		counter("bytes_written_total", "Bytes written to the port files.", &s.bytesWritten),
		counter("write_errors_total", "Failed writes; each abandons the port's current block.", &s.writeErrors),
		counter("blocks_overwritten_total", "Live blocks overwritten because a port's ring was full.", &s.overwritten),
		counter("blocks_corrupt_total", "Blocks skipped on load for failing their checks.", &s.corrupt),
		counter("records_bad_total", "Records skipped on load because their message did not decode.", &s.badRecords),
		counter("messages_loaded_total", "Messages delivered by loads.", &s.loaded),
		counter("files_expired_total", "Port files deleted once none of their blocks was live.", &s.expiredFiles),
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("%w: metrics already registered: %w", ErrConfig, err)
			}
			return fmt.Errorf("%w: metrics: %w", ErrConfig, err)
		}
	}
	return nil
}
