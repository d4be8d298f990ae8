package cassandra

import (
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// Store is a flowstate.Store on Cassandra. It is safe for concurrent use.
type Store struct {
	cfg  Config
	sess *gocql.Session
	st   statements
	ttl  int
}

var _ flowstate.Store = (*Store)(nil)

// New connects to the cluster (bounded by ctx and Config.ConnectTimeout)
// and, with Config.CreateSchema, creates the keyspace and tables. Close
// the store when done.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	cc := gocql.NewCluster(cfg.Hosts...)
	cc.Consistency = cfg.Consistency
	cc.Timeout = cfg.Timeout
	cc.ConnectTimeout = cfg.ConnectTimeout
	cc.Logger = slogger{cfg.Logger.With("component", "gocql")}
	type result struct {
		s   *gocql.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := cc.CreateSession()
		ch <- result{s, err}
	}()
	var sess *gocql.Session
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("flowstate/cassandra: connecting to %v: %w", cfg.Hosts, r.err)
		}
		sess = r.s
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, fmt.Errorf("flowstate/cassandra: connecting to %v: %w", cfg.Hosts, ctx.Err())
	}
	s := &Store{cfg: cfg, sess: sess, st: newStatements(cfg.Keyspace), ttl: int((cfg.TTL + time.Second - 1) / time.Second)}
	if cfg.CreateSchema {
		for _, stmt := range Schema(cfg.Keyspace, cfg.ReplicationFactor) {
			if err := sess.Query(stmt).Consistency(gocql.All).ExecContext(ctx); err != nil {
				sess.Close()
				return nil, fmt.Errorf("flowstate/cassandra: creating the schema: %w", err)
			}
		}
	}
	cfg.Logger.Info("flow-state store on Cassandra", "hosts", cfg.Hosts, "keyspace", cfg.Keyspace, "consistency", cfg.Consistency.String(), "ttl", cfg.TTL)
	return s, nil
}

// Close closes the session.
func (s *Store) Close() error {
	s.sess.Close()
	return nil
}

// Save implements flowstate.Store: one row per key and port (ingress and
// each egress port), in unlogged batches, each row with the TTL.
func (s *Store) Save(ctx context.Context, msg *flowstate.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.sess.Batch(gocql.UnloggedBatch)
	flush := func() error {
		if b.Size() == 0 {
			return nil
		}
		err := b.ExecContext(ctx)
		b = s.sess.Batch(gocql.UnloggedBatch)
		if err != nil {
			return fmt.Errorf("flowstate/cassandra: saving: %w", err)
		}
		return nil
	}
	add := func(port topology.ID, dir int) error {
		for i := range msg.Conns {
			b.Query(s.st.insConn[dir], connArgs(port, &msg.Conns[i], s.ttl)...)
			if b.Size() >= maxBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		for i := range msg.NATs {
			b.Query(s.st.insNAT[dir], natArgs(port, &msg.NATs[i], s.ttl)...)
			if b.Size() >= maxBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if !msg.IngressPort.IsZero() {
		if err := add(msg.IngressPort, 0); err != nil {
			return err
		}
	}
	for i, p := range msg.EgressPorts {
		if p.IsZero() || slices.Contains(msg.EgressPorts[:i], p) {
			continue
		}
		if err := add(p, 1); err != nil {
			return err
		}
	}
	return flush()
}

// loadBatch is how many keys Load delivers per message.
const loadBatch = 256

// Load implements flowstate.Store: four per-port queries. Keys read by
// ingress port come in messages whose IngressPort is port, the others in
// messages whose only egress port is port.
func (s *Store) Load(ctx context.Context, port topology.ID, fn func(*flowstate.Message) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var m flowstate.Message
	emit := func() error {
		if len(m.Conns)+len(m.NATs) == 0 {
			return nil
		}
		err := fn(&m)
		m.Conns, m.NATs = m.Conns[:0], m.NATs[:0]
		return err
	}
	for dir := range 2 {
		m.Reset()
		if dir == 0 {
			m.IngressPort = port
		} else {
			m.EgressPorts = append(m.EgressPorts, port)
		}
		var r connRow
		it := s.sess.Query(s.st.selConn[dir], gocql.UUID(port)).PageSize(5000).IterContext(ctx)
		for it.Scan(&r.proto, &r.srcIP, &r.srcPort, &r.dstIP, &r.dstPort, &r.device) {
			k, err := r.key()
			if err != nil {
				s.cfg.Logger.Warn("skipping a malformed conntrack row", "port", port, "err", err)
				continue
			}
			m.Conns = append(m.Conns, k)
			if len(m.Conns) >= loadBatch {
				if err := emit(); err != nil {
					it.Close()
					return err
				}
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("flowstate/cassandra: loading %s: %w", port, err)
		}
		var typ string
		var tip net.IP
		var tport int
		it = s.sess.Query(s.st.selNAT[dir], gocql.UUID(port)).PageSize(5000).IterContext(ctx)
		for it.Scan(&r.proto, &r.srcIP, &r.srcPort, &r.dstIP, &r.dstPort, &r.device, &typ, &tip, &tport) {
			e, err := natEntry(&r, typ, tip, tport)
			if err != nil {
				s.cfg.Logger.Warn("skipping a malformed NAT row", "port", port, "err", err)
				continue
			}
			m.NATs = append(m.NATs, e)
			if len(m.NATs) >= loadBatch {
				if err := emit(); err != nil {
					it.Close()
					return err
				}
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("flowstate/cassandra: loading %s: %w", port, err)
		}
		if err := emit(); err != nil {
			return err
		}
	}
	return nil
}
