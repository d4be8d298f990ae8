package zookeeper

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
)

// Elections live at <root>/elections/<name>: each candidate is an ephemeral
// sequential child "c-<guid>-<sequence>" holding the candidate's value; the
// candidate with the lowest sequence leads (the reference's Curator leader
// latch). A waiting candidate watches only its predecessor.

type elections struct{ c *Client }

// candidacy is a session's place in an election; once elected it is the
// Leadership.
type candidacy struct {
	c    *Client
	cn   *conn
	name string
	path string // the candidate node, once created

	// Ending ends with the candidacy (or leadership).
	session.Ending
	once sync.Once
}

// end ends the candidacy (or leadership) with err and forgets it.
func (l *candidacy) end(err error) {
	l.once.Do(func() {
		l.End(err)
		l.c.mu.Lock()
		if l.c.cands[l.name] == l {
			delete(l.c.cands, l.name)
		}
		l.c.mu.Unlock()
	})
}

// withdraw deletes the candidate node, retrying while the session lives
// (a node left behind would lead for nobody).
func (l *candidacy) withdraw(ctx context.Context) error {
	if l.path == "" {
		return nil
	}
	return l.c.onSession(ctx, l.cn, func() error {
		err := l.cn.zk.Delete(l.path, -1)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	})
}

// Resign implements nsdb.Leadership.
func (l *candidacy) Resign(ctx context.Context) error {
	select {
	case <-l.Done():
		return nil
	default:
	}
	err := l.withdraw(ctx)
	if errors.Is(err, nsdb.ErrSessionExpired) || errors.Is(err, nsdb.ErrClosed) {
		err = nil // the session is over: so is the candidacy
	}
	if err != nil {
		return mapErr("resign "+l.path, err)
	}
	l.end(nsdb.ErrClosed)
	return nil
}

type candidate struct {
	name string
	seq  int64
	guid string
}

// candidates lists an election's candidates in campaign order.
func candidates(names []string) []candidate {
	var out []candidate
	for _, n := range names {
		if g, s, ok := parseCandidate(n); ok {
			out = append(out, candidate{name: n, seq: s, guid: g})
		}
	}
	slices.SortFunc(out, func(a, b candidate) int { return int(a.seq - b.seq) })
	return out
}

func (el elections) Campaign(ctx context.Context, name, value string) (nsdb.Leadership, error) {
	if err := validate.Name("election", name); err != nil {
		return nil, err
	}
	c := el.c
	dir := c.paths.election(name)
	cn, err := c.live(ctx)
	if err != nil {
		return nil, err
	}
	l := &candidacy{c: c, cn: cn, name: name}
	c.mu.Lock()
	if old := c.cands[name]; old != nil && old.cn.sess == cn.sess {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: session 0x%x already campaigns in election %q", nsdb.ErrExists, uint64(cn.sess.ID()), name)
	}
	c.cands[name] = l
	c.mu.Unlock()

	// The candidacy ends with its session.
	go func() {
		select {
		case <-cn.sess.Done():
			l.end(cn.sess.Err())
		case <-l.Done():
		}
	}()

	var guidb [8]byte
	rand.Read(guidb[:])
	guid := hex.EncodeToString(guidb[:])
	// The create may finish after ctx ends, in call's goroutine: sent and
	// path, which it writes, are read under pmu.
	var (
		pmu  sync.Mutex
		sent bool
		path string
	)
	err = c.onSession(ctx, cn, func() error {
		pmu.Lock()
		again := sent
		pmu.Unlock()
		if again {
			// A lost reply: look for our node.
			names, _, err := cn.zk.Children(dir)
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
			for _, cd := range candidates(names) {
				if cd.guid == guid {
					pmu.Lock()
					path = dir + "/" + cd.name
					pmu.Unlock()
					return nil
				}
			}
		}
		pmu.Lock()
		sent = true
		pmu.Unlock()
		p, err := cn.zk.Create(dir+"/"+candidatePrefix+guid+"-", []byte(value), zk.FlagEphemeral|zk.FlagSequence, c.acl)
		if errors.Is(err, zk.ErrNoNode) {
			pmu.Lock()
			sent = false
			pmu.Unlock()
			if err := cn.ensurePath(dir); err != nil {
				return err
			}
			return errRetry
		}
		if err == nil {
			pmu.Lock()
			path = p
			pmu.Unlock()
		}
		return err
	})
	pmu.Lock()
	l.path = path
	wasSent := sent
	pmu.Unlock()
	if err == nil {
		err = el.await(ctx, l, dir)
	}
	if err != nil {
		if ctx.Err() != nil && (l.path != "" || wasSent) {
			// Withdraw, even though ctx is over. A create whose reply ctx
			// cut short may have made the node: find it by its guid, or it
			// would lead for nobody until the session ends.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cn.timeout())
			if l.path == "" {
				l.path = el.findCandidate(wctx, cn, dir, guid)
			}
			if werr := l.withdraw(wctx); werr != nil {
				c.log.Warn("zookeeper: cannot withdraw a candidacy; it ends with the session", "path", l.path, "err", werr)
			}
			cancel()
		}
		l.end(err)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, mapErr("campaign in "+dir, err)
	}
	return l, nil
}

// await waits until l's node is the first candidate.
func (el elections) await(ctx context.Context, l *candidacy, dir string) error {
	c, cn := el.c, l.cn
	me := lastSegment(l.path)
	for {
		var ch <-chan zk.Event
		leads := false
		err := c.onSession(ctx, cn, func() error {
			names, _, err := cn.zk.Children(dir)
			if err != nil {
				return err
			}
			cs := candidates(names)
			i := slices.IndexFunc(cs, func(cd candidate) bool { return cd.name == me })
			switch {
			case i < 0:
				return fmt.Errorf("%w: candidate %s vanished", nsdb.ErrSessionExpired, l.path)
			case i == 0:
				leads = true
				return nil
			}
			ok, _, w, err := cn.zk.ExistsW(dir + "/" + cs[i-1].name)
			if err != nil {
				return err
			}
			if !ok {
				return errRetry
			}
			ch = w
			return nil
		})
		if err != nil {
			return err
		}
		if leads {
			return nil
		}
		select {
		case <-ch:
		case <-cn.sess.Done():
			return cn.sess.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (el elections) Leader(ctx context.Context, name string) (nsdb.Leader, error) {
	if err := validate.Name("election", name); err != nil {
		return nsdb.Leader{}, err
	}
	dir := el.c.paths.election(name)
	var l nsdb.Leader
	err := el.c.retry(ctx, func(cn *conn) error {
		var err error
		l, err = cn.leader(dir, false)
		return err
	})
	return l, mapErr("leader of "+dir, err)
}

func (el elections) Candidates(ctx context.Context, name string) (int, error) {
	if err := validate.Name("election", name); err != nil {
		return 0, err
	}
	dir := el.c.paths.election(name)
	var n int
	err := el.c.retry(ctx, func(cn *conn) error {
		names, _, err := cn.zk.Children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			n = 0
			return nil
		}
		n = len(candidates(names))
		return err
	})
	return n, mapErr("candidates of "+dir, err)
}

// leader reads an election's leader; with arm it arms a watch on the
// candidates.
func (cn *conn) leader(dir string, arm bool) (nsdb.Leader, error) {
	var names []string
	var err error
	if arm {
		names, _, _, err = cn.zk.ChildrenW(dir)
	} else {
		names, _, err = cn.zk.Children(dir)
	}
	if errors.Is(err, zk.ErrNoNode) {
		if !arm {
			return nsdb.Leader{}, nil
		}
		if err := cn.ensurePath(dir); err != nil {
			return nsdb.Leader{}, err
		}
		return nsdb.Leader{}, errRetry
	}
	if err != nil {
		return nsdb.Leader{}, err
	}
	cs := candidates(names)
	if len(cs) == 0 {
		return nsdb.Leader{}, nil
	}
	data, st, err := cn.zk.Get(dir + "/" + cs[0].name)
	if errors.Is(err, zk.ErrNoNode) {
		return nsdb.Leader{}, errRetry // it just left
	}
	if err != nil {
		return nsdb.Leader{}, err
	}
	return nsdb.Leader{Value: string(data), Session: nsdb.SessionID(st.EphemeralOwner)}, nil
}

func (el elections) WatchLeader(ctx context.Context, name string) (nsdb.Watch[nsdb.Leader], error) {
	if err := validate.Name("election", name); err != nil {
		return nil, err
	}
	c := el.c
	if c.isClosed() {
		return nil, nsdb.ErrClosed
	}
	dir := c.paths.election(name)
	w := watch.New[struct{}](watch.Leaders())
	var (
		mu    sync.Mutex
		last  nsdb.Leader
		known bool
	)
	s := &sub{path: dir}
	s.refresh = func(ctx context.Context, cn *conn, _ uint64, _ bool) error {
		var l nsdb.Leader
		err := call(ctx, func() error {
			for {
				var err error
				l, err = cn.leader(dir, true)
				if !errors.Is(err, errRetry) {
					return err
				}
			}
		})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if known && l == last {
			return nil
		}
		known, last = true, l
		w.Push(struct{}{}, l)
		return nil
	}
	w.OnClose(func() {
		c.eng.remove(s)
		c.untrack(w)
	})
	if !c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	c.eng.add(s, max(c.q.now(), 1))
	if err := c.eng.barrier(ctx, c.q.now()); err != nil {
		w.Close()
		return nil, mapErr("watch "+dir, err)
	}
	return w, nil
}

// Sequences live at <root>/sequences/<name>; the node's data is the next
// number to dispense, in decimal, advanced by compare-and-set.

type sequences struct{ c *Client }

func (sq sequences) Next(ctx context.Context, seq nsdb.Sequence) (uint64, error) {
	if err := validate.Name("sequence", seq.Name); err != nil {
		return 0, err
	}
	p := sq.c.paths.sequence(seq.Name)
	var out uint64
	err := sq.c.retry(ctx, func(cn *conn) error {
		data, st, err := cn.zk.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			_, err := cn.zk.Create(p, []byte(strconv.FormatUint(seq.Seed+1, 10)), zk.FlagPersistent, sq.c.acl)
			switch {
			case err == nil:
				out = seq.Seed
				return nil
			case errors.Is(err, zk.ErrNodeExists):
				return errRetry
			case errors.Is(err, zk.ErrNoNode):
				if err := cn.ensurePath(sq.c.paths.sequences); err != nil {
					return err
				}
				return errRetry
			}
			return err
		}
		if err != nil {
			return err
		}
		v, perr := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if perr != nil {
			return fmt.Errorf("%w: sequence %s holds %q", errCorrupt, seq.Name, data)
		}
		_, err = cn.zk.Set(p, []byte(strconv.FormatUint(v+1, 10)), st.Version)
		if errors.Is(err, zk.ErrBadVersion) {
			return errRetry
		}
		if err == nil {
			out = v
		}
		return err
	})
	if err != nil {
		return 0, mapErr("next of "+p, err)
	}
	return out, nil
}
