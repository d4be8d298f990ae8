package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/topology"
)

// The agent starts on the in-process datapath with the embedded NSDB and
// a topology file, binds the host's ports, serves its metrics, and stops
// cleanly on cancellation.
func TestRunInproc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var logs bytes.Buffer
	var body string
	var bound bool
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port)
	l.Close()
	code := run(ctx, []string{"-host", "host-a", "-datapath", "inproc", "-underlay", "127.0.0.1", "-vxlan-port", port,
		"-load", "../topologies/two-tenant-cloud.yaml", "-metrics", "127.0.0.1:0"}, &logs,
		func(a *agent.Agent, metrics string) {
			_, bound = a.LocalPort(topology.NameID(topology.KindPort, "vm1"))
			resp, err := http.Get("http://" + metrics + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
			}
			cancel()
		})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if !bound {
		t.Error("vm1 (bound to host-a) has no datapath port")
	}
	for _, m := range []string{"hivenet_agent_flows", "hivenet_agent_upcall_queue_depth", "hivenet_agent_upcall_queue_bytes"} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s:\n%s", m, body)
		}
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-host", "a", "-host-id", "x"},
		{"-host-id", "not-a-uuid"},
		{"-host", "a", "-datapath", "floppy"},
		{"-host", "a", "-nsdb", "zk"},
		{"-host", "a", "-underlay", "nope"},
		{"-host", "a", "extra"},
	} {
		var logs bytes.Buffer
		if code := run(context.Background(), args, &logs, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
