package zkserver_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// An embedded ZooKeeper: a standalone server on 127.0.0.1:2181 keeping its
// data in /var/lib/hivenet/zk, restarted if it crashes, stopped with the
// process.
func ExampleServer_Supervise() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := zkserver.New(zkserver.Config{Dir: "/var/lib/hivenet/zk"})
	if err != nil {
		log.Fatal(err) // errors.Is(err, zkserver.ErrUnavailable) without java or ZooKeeper
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	if err := s.WaitServing(ctx); err != nil {
		log.Fatal(err)
	}
	log.Printf("ZooKeeper serving on %s", s.ConnectString())
	if err := s.Supervise(ctx, zkserver.SuperviseOptions{}); err != nil {
		log.Print(err)
	}
}
