// Command zkserver runs a throw-away ZooKeeper server (or ensemble) for
// development, using the same configuration as the tests' internal/zktest
// harness: loopback only, free ports, fast ticks, 4lw commands enabled.
//
// Usage:
//
//	go run ./internal/zktest/cmd/zkserver [-n 3] [-dir DIR] [-connect-file F] [-pid-file F]
//
// It prints the connect string on stdout once every server serves (and
// writes it to -connect-file), then runs until SIGINT or SIGTERM, when it
// stops the servers, removes its files and, unless -dir was given, the
// data. Point tests at it with
//
//	HIVENET_ZK_SERVERS=$(cat F) go test ./...
//
// The JVMs die with this process even when it is killed (Linux
// parent-death signal). A member of an ensemble that exits is logged and the
// others go on; it exits non-zero once the servers left are no quorum (for a
// single server: when it exits).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
)

func main() {
	n := flag.Int("n", 1, "number of servers: 1 runs a standalone server, more an ensemble on 127.0.0.1..127.0.0.n")
	dir := flag.String("dir", "", "directory for configuration, data and logs (default: a temporary directory removed at exit)")
	connectFile := flag.String("connect-file", "", "write the connect string to this file")
	pidFile := flag.String("pid-file", "", "write this process's pid to this file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("zkserver: ")
	if err := run(*n, *dir, *connectFile, *pidFile); err != nil {
		log.Fatal(err)
	}
}

func run(n int, dir, connectFile, pidFile string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hivenet-zkserver-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)

	ctx, cancel := context.WithTimeout(context.Background(), zktest.StartTimeout)
	defer cancel()
	start := time.Now()
	var (
		servers []*zktest.Server
		connect string
		stop    func() error
	)
	if n <= 1 {
		s, err := zktest.StartStandalone(ctx, dir)
		if err != nil {
			return err
		}
		servers, connect, stop = []*zktest.Server{s}, s.ConnectString(), s.Stop
	} else {
		e, err := zktest.StartEnsembleDir(ctx, dir, n)
		if err != nil {
			return err
		}
		servers, connect, stop = e.Servers(), e.ConnectString(), e.Stop
	}
	defer func() {
		if err := stop(); err != nil {
			log.Print(err)
		}
	}()
	log.Printf("%d server(s) serving after %v; logs under %s", len(servers), time.Since(start).Round(time.Millisecond), dir)

	if pidFile != "" {
		if err := os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			return err
		}
		defer os.Remove(pidFile)
	}
	if connectFile != "" {
		if err := os.WriteFile(connectFile, []byte(connect+"\n"), 0o644); err != nil {
			return err
		}
		defer os.Remove(connectFile)
	}
	fmt.Println(connect)

	// A member of an ensemble may die (a fault test kills one): the others
	// go on while they keep a quorum.
	quorum := len(servers)/2 + 1
	gone := make(map[int]bool)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case s := <-sig:
			log.Printf("%v: stopping", s)
			return nil
		case <-tick.C:
			for i, s := range servers {
				if !gone[i] && !s.Running() {
					gone[i] = true
					log.Printf("server %s exited (%d of %d left); log tail:\n%s", s.Addr(), len(servers)-len(gone), len(servers), s.LogTail(10))
				}
			}
			if len(servers)-len(gone) < quorum {
				return fmt.Errorf("%d of %d servers exited: no quorum left", len(gone), len(servers))
			}
		}
	}
}
