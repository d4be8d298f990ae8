package main

import (
	"context"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/topology/topofile"
)

// Each scenario as a subtest, on three agents with flow state and on three
// without: every scenario checks what its mode must do.
func TestTwoTenantScenarios(t *testing.T) {
	for _, stateful := range []bool{true, false} {
		t.Run(map[bool]string{true: "flow-state", false: "no-flow-state"}[stateful], func(t *testing.T) {
			testScenarios(t, stateful)
		})
	}
}

func testScenarios(t *testing.T, stateful bool) {
	topo, err := topofile.LoadFile("../topologies/two-tenant-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, Stateful: stateful})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range twoTenantScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Run(ctx, e); err != nil {
				t.Fatal(err)
			}
		})
	}
}
