package zktest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
)

// Outside tests, StartStandalone runs a server in a directory of your
// choice; tests use Standalone, StartServer or StartEnsemble instead.
func ExampleStartStandalone() {
	dir, err := os.MkdirTemp("", "zk")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := zktest.StartStandalone(ctx, dir)
	if err != nil {
		log.Fatal(err) // errors.Is(err, zktest.ErrUnavailable) without java or ZooKeeper
	}
	defer s.Stop()

	mode, err := s.Mode(ctx)
	fmt.Println(s.ConnectString(), mode, err) // 127.0.0.1:<port> standalone <nil>
}
