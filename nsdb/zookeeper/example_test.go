package zookeeper_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

// An agent connects to the ensemble, keeps its host's liveness registered
// across session expiries, and writes to the topology.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := zookeeper.New(ctx, zookeeper.Config{
		Servers:        []string{"10.0.0.11:2181", "10.0.0.12:2181", "10.0.0.13:2181"},
		Root:           "/hivenet",
		SessionTimeout: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, nsdb.ErrUnavailable): no server answered within ctx
	}
	defer c.Close()

	// Ephemeral state belongs to the session: register it again whenever
	// the client had to open a new one.
	host := topology.NameID(topology.KindHost, "host-1")
	go func() {
		for {
			s, err := c.Session(ctx)
			if err != nil {
				return
			}
			if err := c.StateKeys().Set(ctx, nsdb.KeyHostAlive(), host, "1"); err != nil {
				log.Print(err)
			}
			select {
			case <-s.Done():
			case <-ctx.Done():
				return
			}
		}
	}()

	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "tenant"), Name: "tenant"}
	p := &topology.Port{ID: topology.NameID(topology.KindPort, "vm1"), Bridge: br.ID, Host: host, Interface: "tap-vm1"}
	v, err := c.Store().Commit(ctx, nsdb.Create(&topology.Host{ID: host, Name: "host-1"}), nsdb.Create(br), nsdb.Create(p))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("committed at revision", v)
}
