package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
)

func TestReadStatusFromPublishedKeys(t *testing.T) {
	ctx := context.Background()
	srv := memory.NewServer(memory.Config{})
	a, b, reader := srv.NewClient(), srv.NewClient(), srv.NewClient()
	defer a.Close()
	defer b.Close()
	defer reader.Close()

	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	publish := func(c nsdb.Client, ns NodeStatus) {
		t.Helper()
		js, err := json.Marshal(ns)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StateKeys().Set(ctx, nsdb.KeyClusterNode(), ns.ID, string(js)); err != nil {
			t.Fatal(err)
		}
	}
	publish(b, NodeStatus{ID: NodeID("node-b"), Name: "node-b", Started: now, Updated: now, Services: []ServiceStatus{
		{Name: "recycler", Placement: Leader, State: StateWaiting, Since: now},
	}})
	publish(a, NodeStatus{ID: NodeID("node-a"), Name: "node-a", Started: now, Updated: now, Services: []ServiceStatus{
		{Name: "recycler", Placement: Leader, State: StateRunning, Leader: true, Since: now},
		{Name: "api", Placement: EveryNode, State: StateRunning, Restarts: 2, LastError: "boom", Since: now},
	}})
	if _, err := a.Elections().Campaign(ctx, ElectionName("recycler"), NodeID("node-a").String()); err != nil {
		t.Fatal(err)
	}

	st, err := ReadStatus(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 2 || st.Nodes[0].Name != "node-a" || st.Nodes[1].Name != "node-b" {
		t.Fatalf("nodes = %+v, want node-a, node-b", st.Nodes)
	}
	if got := st.Nodes[0].Services[1]; got.Restarts != 2 || got.LastError != "boom" || !got.Since.Equal(now) {
		t.Errorf("api status = %+v", got)
	}
	if len(st.Leaders) != 1 || st.Leaders[0] != (LeaderStatus{Service: "recycler", Node: NodeID("node-a"), NodeName: "node-a"}) {
		t.Errorf("leaders = %+v, want recycler led by node-a", st.Leaders)
	}

	// A node whose session ends disappears, and so does its leadership.
	a.Close()
	st, err = ReadStatus(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 1 || st.Nodes[0].Name != "node-b" {
		t.Fatalf("after node-a closed: nodes = %+v", st.Nodes)
	}
	if len(st.Leaders) != 1 || !st.Leaders[0].Node.IsZero() {
		t.Errorf("after node-a closed: leaders = %+v, want recycler without leader", st.Leaders)
	}
	js, err := json.Marshal(st.Leaders[0])
	if err != nil || string(js) != `{"service":"recycler"}` {
		t.Errorf("leaderless JSON = %s, %v", js, err)
	}
}

func TestDecodeNodeStatusRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      `{`,
		"unknown field": `{"id":"` + NodeID("n").String() + `","name":"n","bogus":1}`,
		"trailing":      `{"id":"` + NodeID("n").String() + `","name":"n"} {}`,
		"no name":       `{"id":"` + NodeID("n").String() + `"}`,
		"bad id":        `{"id":"x","name":"n"}`,
		"too large":     `{"name":"` + string(make([]byte, MaxStatusBytes)) + `"}`,
	} {
		if _, err := DecodeNodeStatus([]byte(in)); !errors.Is(err, ErrBadStatus) {
			t.Errorf("%s: err = %v, want ErrBadStatus", name, err)
		}
	}
}

func FuzzDecodeNodeStatus(f *testing.F) {
	f.Add([]byte(`{"id":"` + NodeID("n").String() + `","name":"n","services":[{"name":"api","placement":"every-node","state":"running","restarts":1}]}`))
	f.Add([]byte(`{"name":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, err := DecodeNodeStatus(b)
		if err != nil {
			if !errors.Is(err, ErrBadStatus) {
				t.Fatalf("error %v does not wrap ErrBadStatus", err)
			}
			return
		}
		// What decodes re-encodes and decodes to the same report.
		js, err := json.Marshal(ns)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeNodeStatus(js); err != nil && len(js) <= MaxStatusBytes {
			t.Fatalf("re-encoded status does not decode: %v\n%s", err, js)
		}
	})
}
