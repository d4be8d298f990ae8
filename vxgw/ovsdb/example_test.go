package ovsdb_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// Dial connects and stays connected; a monitor keeps a cache of the
// hardware VTEP's logical switches and reports every change, including
// after reconnections. (It needs a running ovsdb-server, so it is not run
// as a test; the package's tests do the same against a real one.)
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ovsdb.Dial(ctx, ovsdb.Config{
		Endpoint: "unix:/var/run/openvswitch/db.sock", // or "tcp:192.0.2.10:6640"
		Logger:   slog.Default(),
		OnState: func(e ovsdb.StateEvent) {
			log.Printf("connected=%v err=%v", e.Connected, e.Err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	changes := make(chan ovsdb.Updates, 16)
	m, err := c.MonitorCond(ctx, "hardware_vtep", map[string]ovsdb.MonitorRequest{
		"Logical_Switch": {Columns: []string{"name", "tunnel_key"}},
	}, func(u ovsdb.Updates) { changes <- u })
	if err != nil {
		log.Fatal(err)
	}

	res, err := c.Transact(ctx, "hardware_vtep",
		ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": "mn-net1", "tunnel_key": 10001}})
	if errors.Is(err, ovsdb.ErrConstraintViolation) {
		log.Fatal("a logical switch of that name exists already")
	} else if err != nil {
		log.Fatal(err)
	}
	for u := range changes {
		if ru, ok := u.Tables["Logical_Switch"][res[0].UUID]; ok {
			fmt.Println("inserted", ru.New["name"], "resync:", u.Resync)
			break
		}
	}
	fmt.Println(len(m.Table("Logical_Switch")) > 0)
}
