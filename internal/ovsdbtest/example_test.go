package ovsdbtest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
)

// Outside tests, StartDir runs a server in a directory of your choice;
// tests use Shared or StartServer instead.
func ExampleStartDir() {
	dir, err := os.MkdirTemp("", "ovsdb")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := ovsdbtest.StartDir(ctx, dir)
	if err != nil {
		log.Fatal(err) // errors.Is(err, ovsdbtest.ErrUnavailable) without Open vSwitch
	}
	defer srv.Stop()

	if _, err := srv.VtepCtl(ctx, "add-ls", "ls0"); err != nil {
		log.Fatal(err)
	}
	out, err := srv.VtepCtl(ctx, "list-ls")
	fmt.Print(out, err, "\n")
	// Output:
	// ls0
	// <nil>
}
