package nsdb

import (
	"context"

	"github.com/hivenet/hivenet/topology"
)

// Version is the revision at which an object was last written.
//
// Versions are store-wide revisions: each Commit that changes anything is
// assigned one revision, greater than the revision of every commit before it,
// and every object the commit creates, updates or deletes — including those
// changed by cascades, clears and peering — carries that revision. A commit
// changes the version of exactly the objects it writes: objects it only reads
// or checks keep theirs. So, per object, versions strictly increase across
// writes, even across a delete and a re-creation. (ZooKeeper: the zxid of the
// transaction, i.e. the node's mzxid.)
//
// The zero Version never names a state: as Op.IfVersion it means "any
// version", in an Event it means "absent, never seen".
type Version uint64

// AnyVersion, as Op.IfVersion, disables the version check.
const AnyVersion Version = 0

// Versioned is an object with the version it was read at. Object belongs to
// the caller: backends return copies.
type Versioned struct {
	Object  topology.Object
	Version Version
}

// OpType is the kind of an Op.
type OpType uint8

// Operation types.
const (
	_ OpType = iota
	// OpCreate creates Object; ErrExists if an object of its kind and ID
	// exists.
	OpCreate
	// OpUpdate replaces the object of Object's kind and ID; ErrNotFound if
	// absent, ErrConflict if IfVersion is set and differs from its version.
	OpUpdate
	// OpPut creates Object or replaces the existing one, unconditionally.
	OpPut
	// OpDelete deletes the object of Kind and ID, applying the delete
	// policies of every reference to it; ErrNotFound if absent, ErrConflict
	// if IfVersion is set and differs.
	OpDelete
	// OpCheck writes nothing: it asserts that the object of Kind and ID
	// exists (ErrNotFound) and, if IfVersion is set, is at that version
	// (ErrConflict). Use it to make a write depend on objects it does not
	// change.
	OpCheck
)

func (t OpType) String() string {
	switch t {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpCheck:
		return "check"
	}
	return "invalid"
}

// Op is one operation of a transaction. Build Ops with Create, Update, Put,
// Delete and Check.
type Op struct {
	Type OpType
	// Kind and ID name the object. Create, Update and Put take them from
	// Object.
	Kind topology.Kind
	ID   topology.ID
	// Object is the new state for Create, Update and Put; the store keeps a
	// copy, so the caller may reuse it after Commit returns.
	Object topology.Object
	// IfVersion, when not AnyVersion, is the version the object must be at
	// (Update, Delete, Check).
	IfVersion Version
}

// Create returns an Op that creates o.
func Create(o topology.Object) Op {
	return Op{Type: OpCreate, Kind: o.ObjectKind(), ID: o.ObjectID(), Object: o}
}

// Update returns an Op that replaces the stored object with o, provided it is
// at ifVersion (AnyVersion: unconditionally).
func Update(o topology.Object, ifVersion Version) Op {
	return Op{Type: OpUpdate, Kind: o.ObjectKind(), ID: o.ObjectID(), Object: o, IfVersion: ifVersion}
}

// Put returns an Op that creates o or replaces the stored object.
func Put(o topology.Object) Op {
	return Op{Type: OpPut, Kind: o.ObjectKind(), ID: o.ObjectID(), Object: o}
}

// Delete returns an Op that deletes the object of kind k with id, provided it
// is at ifVersion (AnyVersion: unconditionally).
func Delete(k topology.Kind, id topology.ID, ifVersion Version) Op {
	return Op{Type: OpDelete, Kind: k, ID: id, IfVersion: ifVersion}
}

// Check returns an Op that asserts the object of kind k with id exists and,
// unless version is AnyVersion, is at version.
func Check(k topology.Kind, id topology.ID, version Version) Op {
	return Op{Type: OpCheck, Kind: k, ID: id, IfVersion: version}
}

func (op Op) String() string {
	return op.Type.String() + " " + op.Kind.String() + " " + op.ID.String()
}

// Reader reads topology objects.
type Reader interface {
	// Get returns the object of kind k with id and its version, or
	// ErrNotFound.
	Get(ctx context.Context, k topology.Kind, id topology.ID) (Versioned, error)
	// List returns every object of kind k, sorted by ID. The listing is
	// consistent per object, not necessarily across objects.
	List(ctx context.Context, k topology.Kind) ([]Versioned, error)
}

// Writer writes topology objects.
type Writer interface {
	// Commit applies ops atomically: either every op and every consequence
	// is written, or nothing is. It returns the revision the commit was
	// assigned (the Version of every object it wrote), or AnyVersion when
	// the ops changed nothing (only Checks, or none).
	//
	// Ops apply in order, each seeing the effect of the ones before it, so
	// one transaction may create a bridge and then its ports, or delete a
	// referrer and then the object it referred to.
	//
	// Bindings. Deleting an object applies, to every object that refers to
	// it (as listed by [topology.Object.Refs]), the reference's policy:
	// [topology.DeleteClear] rewrites the referrer without the reference
	// ([topology.Object.DropRef]); [topology.DeleteCascade] deletes the
	// referrer too, recursively; [topology.DeleteRefuse] fails the commit
	// with a *[ReferencedError] (ErrReferenced), unless the referrer is the
	// deleted object itself. When a referrer holds several references to
	// the deleted object, Refuse beats Cascade beats Clear. A chain rule's
	// traversed-device condition, which Refs does not list, counts as a
	// Refuse reference to the bridge or router it names. An object
	// deleted by a cascade is gone for the following ops: deleting it again
	// is ErrNotFound.
	//
	// Peering is symmetric. Writing a port whose Peer is X also sets X's
	// Peer to the port, provided X is unpeered or already peered with it;
	// if X is peered with another port the commit fails with ErrInvalid
	// (class [topology.ErrSharedReference]): a single-valued reference may
	// not be stolen. If X does not exist (yet), nothing is done for it and
	// validation reports whatever is still wrong at the end. Writing a port
	// whose previous Peer Y is no longer its Peer clears Y's Peer, if Y
	// named the port.
	//
	// Validation. After all ops are applied (in memory), every object
	// created or updated — by an op or as a consequence — is validated on
	// its own ([topology.Object.Validate]) and against the resulting
	// topology with the relational checks of [topology.Topology.Validate]
	// (dangling references, duplicate IDs and names, peering symmetry,
	// duplicate interface bindings, overlapping subnets on one router,
	// routes through another router's port, shared exclusive references,
	// jumps to missing chains). Problems that do not involve a written
	// object need not be reported. If there is any problem, Commit writes
	// nothing and returns an error wrapping ErrInvalid and the
	// *[topology.ValidationError] listing the problems.
	//
	// Errors of a single op (ErrNotFound, ErrExists, ErrConflict,
	// ErrReferenced) are returned wrapped in an *[OpError] giving the op's
	// index. A commit that fails for any reason writes nothing.
	Commit(ctx context.Context, ops ...Op) (Version, error)
}

// Watcher subscribes to topology objects.
type Watcher interface {
	// Watch subscribes to one object. The first batch holds exactly one
	// event: the object's current state, or an absent event (Object nil,
	// Version AnyVersion) if it does not exist. ctx bounds only the setup;
	// the watch lives until Close or until the client is closed.
	Watch(ctx context.Context, k topology.Kind, id topology.ID) (Watch[Event], error)
	// WatchKinds subscribes to every object of the given kinds (of every
	// kind if none is given). The first batch holds one event per existing
	// object (it is empty when there is none); later batches hold changes,
	// including deletions. ctx bounds only the setup.
	WatchKinds(ctx context.Context, kinds ...topology.Kind) (Watch[Event], error)
}

// Notifier is implemented by the watches of both backends (objects, state
// keys, tables). It lets a consumer serve many watches from a few
// goroutines, where blocking one goroutine in Next per watch would cost a
// goroutine's stack per watch: an agent follows a state table per device
// of the deployment.
type Notifier interface {
	// Notify makes the watch call f whenever a batch may be ready — after
	// each change, and at once if one is ready already — until the watch
	// is closed. f runs on the writer's goroutine: it must return quickly
	// and not block. Next with a context that has already ended returns
	// the ready batch, or the context's error if there is none.
	Notify(f func())
}

// SharedWatcher is implemented by stores whose watches can hand out the
// store's own objects instead of copies (nsdb/memory and nsdb/zookeeper
// do). An agent holds every object of the deployment: sharing them with
// its NSDB client's cache, instead of holding a copy of each, saves it
// the copies' memory and the copying (see topology.Adopt).
type SharedWatcher interface {
	// WatchKindsShared is WatchKinds whose events carry objects shared
	// with the store and with other watches: nobody may modify them.
	WatchKindsShared(ctx context.Context, kinds ...topology.Kind) (Watch[Event], error)
}

// Store is the topology object store.
type Store interface {
	Reader
	Writer
	Watcher
}

// Event is a change of one object as seen by a watch.
type Event struct {
	Kind topology.Kind
	ID   topology.ID
	// Object is the new state, owned by the receiver; nil when the object
	// was deleted (or, in a single-object watch's first batch, is absent).
	Object topology.Object
	// Version is Object's version. For a deletion it is not below the
	// revision of the delete (it is that revision while nothing was
	// committed after it; a backend that learns of deletions late may give
	// a later revision), so a reader's highest version seen reaches a
	// delete-only commit's revision. It is never below any version
	// delivered before for the object.
	Version Version
}

// Deleted reports whether the event says the object does not exist.
func (e Event) Deleted() bool { return e.Object == nil }

// Watch is a subscription. The same shape serves objects (Watch[Event]),
// tables (Watch[TableEvent[K, V]]), state keys (Watch[KeyEvent]) and
// elections (Watch[Leader]).
//
// Guarantees, for every backend:
//
//   - The first call to Next returns the current state (see each
//     subscribing method for its exact shape), without waiting.
//   - Later calls block until something changed and return every pending
//     change, at most one event per item (object, table key, state key,
//     election): intermediate states of an item may be coalesced away, but
//     the latest state of every item is always delivered. Once writes stop,
//     the receiver's view converges to the store's.
//   - Per item, the receiver never sees state go backwards: for objects,
//     versions never decrease, and two successive non-deletion events carry
//     strictly increasing versions. Within a batch, object events are
//     sorted by version (ties by ID).
//   - Writers never wait for a watcher: a consumer that does not call Next
//     costs memory bounded by the number of items it watches, nothing more.
//   - Events for different items carry no atomicity: the objects of one
//     commit may arrive in different batches.
//   - In multi-item watches, an item created and deleted between two calls
//     of Next may never show, and a deletion of an item the receiver never
//     saw may be delivered: receivers ignore it. (The memory backend never
//     delivers such deletions.)
//   - A watch survives connection loss and session expiry; after a
//     reconnection the backend delivers whatever changed, deletions
//     included.
type Watch[E any] interface {
	// Next returns the next batch of events. It returns ctx's error if ctx
	// ends first (the watch stays usable), and ErrClosed once the watch or
	// its client is closed.
	Next(ctx context.Context) ([]E, error)
	// Close ends the subscription. It is idempotent and never blocks.
	Close() error
}
