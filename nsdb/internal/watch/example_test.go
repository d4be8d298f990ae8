package watch_test

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// A backend opens a watch with the rules of its event type, pushes the
// current state, registers the watch where changes are pushed, and hands it
// to the caller as an nsdb.Watch. Pushes coalesce per item.
func ExampleNew() {
	host := topology.NameID(topology.KindHost, "h1")
	w := watch.New[topology.ID](watch.Keys(false))
	w.Push(host, nsdb.KeyEvent{Spec: nsdb.KeyHostAlive(), ID: host})
	w.OnClose(func() { fmt.Println("unregistered") })

	var sub nsdb.Watch[nsdb.KeyEvent] = w
	first, _ := sub.Next(context.Background())
	fmt.Println(len(first), len(first[0].Values))

	w.Push(host, nsdb.KeyEvent{Spec: nsdb.KeyHostAlive(), ID: host, Values: []nsdb.KeyValue{{Value: "a", Owner: 1}}})
	w.Push(host, nsdb.KeyEvent{Spec: nsdb.KeyHostAlive(), ID: host, Values: []nsdb.KeyValue{{Value: "b", Owner: 1}}})
	next, _ := sub.Next(context.Background())
	fmt.Println(len(next), next[0].Values[0].Value)
	sub.Close()
	// Output:
	// 1 0
	// 1 b
	// unregistered
}
