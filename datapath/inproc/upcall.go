package inproc

import (
	"context"
	"sync"

	"github.com/hivenet/hivenet/datapath"
)

// upcallMsg is a queued upcall. Messages are pooled: Receive copies one
// into the caller's Upcall and returns it to the pool.
type upcallMsg struct {
	kind      datapath.UpcallKind
	key       datapath.FlowKey
	packet    []byte
	userdata  []byte
	egress    datapath.TunnelKey
	hasEgress bool
	actions   datapath.Actions
	len       uint32
}

// UpcallSocket receives the upcalls the datapath queues for its PID. It
// implements datapath.UpcallSocket. Its queue holds Config.UpcallQueue
// upcalls; more are dropped and counted in Stats.Lost.
type UpcallSocket struct {
	d    *Datapath
	pid  uint32
	q    chan *upcallMsg
	done chan struct{}
	once sync.Once
}

var (
	_ datapath.UpcallSocket   = (*UpcallSocket)(nil)
	_ datapath.PendingCounter = (*UpcallSocket)(nil)
)

// OpenUpcalls implements datapath.Datapath. PIDs are assigned from 1 and
// never reused by one datapath.
func (d *Datapath) OpenUpcalls() (datapath.UpcallSocket, error) {
	return d.OpenUpcallSocket()
}

// OpenUpcallSocket is OpenUpcalls returning the concrete type.
func (d *Datapath) OpenUpcallSocket() (*UpcallSocket, error) {
	if err := d.checkOpen(context.Background(), "open upcall socket"); err != nil {
		return nil, err
	}
	s := &UpcallSocket{d: d, pid: d.nextPID.Add(1), q: make(chan *upcallMsg, d.upQ), done: make(chan struct{})}
	d.sockMu.Lock()
	old := *d.socks.Load()
	next := make(map[uint32]*UpcallSocket, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[s.pid] = s
	d.socks.Store(&next)
	d.sockMu.Unlock()
	return s, nil
}

// Pending implements datapath.PendingCounter: the number of upcalls
// queued and not received yet.
func (s *UpcallSocket) Pending() int { return len(s.q) }

// PID implements datapath.UpcallSocket.
func (s *UpcallSocket) PID() uint32 { return s.pid }

// Receive implements datapath.UpcallSocket. It fills u, reusing the
// capacity of u.Packet and u.Userdata. After Close it fails with
// datapath.ErrClosed.
func (s *UpcallSocket) Receive(ctx context.Context, u *datapath.Upcall) error {
	var m *upcallMsg
	select {
	case <-s.done:
		return opErr("upcall receive", datapath.ErrClosed)
	default:
	}
	// Under load the queue is rarely empty: receiving from it alone locks
	// one channel, where the select below locks three.
	select {
	case m = <-s.q:
	default:
		select {
		case m = <-s.q:
		case <-ctx.Done():
			return opErr("upcall receive", ctx.Err())
		case <-s.done:
			return opErr("upcall receive", datapath.ErrClosed)
		}
	}
	// Field by field: a composite literal of the 700-byte Upcall was built
	// on the stack, cleared, filled and then copied to *u.
	u.Kind = m.kind
	u.Key = m.key
	u.Packet = append(u.Packet[:0], m.packet...)
	if m.kind == datapath.UpcallAction {
		u.Userdata = append(u.Userdata[:0], m.userdata...)
	} else {
		u.Userdata = nil
	}
	u.EgressTunnel = m.egress
	u.HasEgressTunnel = m.hasEgress
	u.Actions = m.actions
	u.MRU = 0
	u.Len = m.len
	u.Hash = 0
	s.d.putMsg(m)
	return nil
}

// Close implements datapath.UpcallSocket: it unregisters the PID (later
// upcalls for it are lost) and unblocks Receive.
func (s *UpcallSocket) Close() error {
	s.d.sockMu.Lock()
	old := *s.d.socks.Load()
	if old[s.pid] == s {
		next := make(map[uint32]*UpcallSocket, len(old))
		for k, v := range old {
			if k != s.pid {
				next[k] = v
			}
		}
		s.d.socks.Store(&next)
	}
	s.d.sockMu.Unlock()
	s.shut()
	return nil
}

func (s *UpcallSocket) shut() { s.once.Do(func() { close(s.done) }) }

func (d *Datapath) getMsg() *upcallMsg {
	if m, ok := d.msgPool.Get().(*upcallMsg); ok {
		return m
	}
	return &upcallMsg{}
}

func (d *Datapath) putMsg(m *upcallMsg) {
	if cap(m.packet) > 1<<16 {
		m.packet = nil
	}
	m.actions = nil
	d.msgPool.Put(m)
}

// queueUpcall delivers m to socket pid, or counts it lost.
func (d *Datapath) queueUpcall(pid uint32, m *upcallMsg) {
	s := (*d.socks.Load())[pid]
	if pid == 0 || s == nil {
		d.lost.Add(1)
		d.putMsg(m)
		return
	}
	select {
	case <-s.done:
		d.lost.Add(1)
		d.putMsg(m)
		return
	default:
	}
	select {
	case s.q <- m:
	default:
		d.lost.Add(1)
		d.putMsg(m)
	}
}
