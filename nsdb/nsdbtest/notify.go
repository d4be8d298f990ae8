package nsdbtest

import (
	"testing"

	"github.com/hivenet/hivenet/nsdb"
)

// notified checks that w implements nsdb.Notifier (both backends' watches
// must) and that it calls back at once for its ready first batch; the
// returned channel receives a value (up to 8 pending) for every later
// call.
func notified[E any](t *testing.T, w nsdb.Watch[E]) chan struct{} {
	t.Helper()
	notifier, ok := w.(nsdb.Notifier)
	if !ok {
		t.Fatalf("%T does not implement nsdb.Notifier", w)
	}
	ready := make(chan struct{}, 8)
	notifier.Notify(func() {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	select {
	case <-ready:
	default:
		t.Fatal("Notify did not call f for the ready first batch")
	}
	return ready
}
