package datapath

import "context"

// Optional capabilities. A datapath or an upcall socket implements these
// when it can; the agent probes for them with a type assertion and works
// without them (what it then lacks is said on each). Anything the agent
// cannot run without belongs in [Datapath] itself.

// FlowBatcher is implemented by datapaths that install many flows with few
// system calls. The kernel client implements it.
type FlowBatcher interface {
	// PutFlows installs flows with one mode. The returned error, if any, is
	// a *BatchError listing the failed indexes; flows not listed were
	// installed.
	PutFlows(ctx context.Context, flows []Flow, mode PutMode) error
}

// FlowDeleter is implemented by datapaths that remove many flows with few
// system calls (datapath/kernel) or lock acquisitions (datapath/inproc).
// Without it the agent removes expired and invalidated flows one
// DeleteFlow at a time.
type FlowDeleter interface {
	// DeleteFlows removes the flows installed with ufids. The returned
	// error, if any, is a *BatchError listing the failed indexes (a flow
	// already gone fails with ErrNotFound); flows not listed were removed.
	DeleteFlows(ctx context.Context, ufids []UFID) error
}

// DispatchKeeper is implemented by datapaths whose upcall dispatch another
// program can change behind the agent's back: ovs-dpctl switches the kernel
// datapath to per-CPU dispatch, and every upcall sent to the agent's port
// sockets is lost from then on. The agent calls KeepVportDispatch about
// once a second; datapath/kernel implements it.
type DispatchKeeper interface {
	// KeepVportDispatch restores per-vport upcall dispatch if the datapath
	// left it, and reports whether it had to.
	KeepVportDispatch(ctx context.Context) (restored bool, err error)
}

// DispatchWatcher is implemented by DispatchKeepers that can tell when the
// datapath changed (datapath/kernel: the module's change notifications):
// the agent then restores its dispatch at once rather than within the
// second.
type DispatchWatcher interface {
	// WatchChanges returns a channel that receives a value after each
	// change of the datapath, until ctx ends.
	WatchChanges(ctx context.Context) (<-chan struct{}, error)
}

// QueuedByteCounter is implemented by upcall sockets that can tell how much
// memory the upcalls queued in them take (datapath/kernel: SO_MEMINFO). The
// agent's upcall queue bytes metric sums it; without it the socket counts
// as empty.
type QueuedByteCounter interface {
	// QueuedBytes returns the memory taken by unread upcalls.
	QueuedBytes() (int, error)
}

// PendingCounter is implemented by upcall sockets that can tell how many
// upcalls wait in their queue (datapath/inproc). The agent's upcall queue
// depth metric sums it; without it the socket counts as empty.
type PendingCounter interface {
	// Pending returns the number of unread upcalls.
	Pending() int
}
