package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/vxgw"
)

// TestVxGWService: a node running the api and vxgw services manages a VTEP
// (a real ovsdb-server on loopback) created and bound through the API: the
// VTEP's database gets the bridge's switch, and the API reports the
// node's connection.
func TestVxGWService(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, args := range [][]string{{"add-ps", "ps1"}, {"set", "Physical_Switch", "ps1", "tunnel_ips=192.0.2.200"}, {"add-port", "ps1", "eth0"}} {
		if _, err := srv.VtepCtl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	mgmt := strings.TrimPrefix(srv.TCPEndpoint(), "tcp:127.0.0.1:")
	var logs bytes.Buffer
	code := run(ctx, []string{"-nsdb", "memory", "-node", "gw-node", "-services", "api,vxgw", "-listen", "127.0.0.1:0", "-token-file", tokenFile(t)}, &logs,
		func(n *cluster.Node, c nsdb.Client, addr string) {
			defer cancel()
			api := apiClient{t: t, base: "http://" + addr, http: &http.Client{Timeout: 10 * time.Second}}
			for _, o := range [][2]string{
				{"hosts", `{"name": "host-a"}`},
				{"tunnel-zones", `{"name": "vtz", "type": "vtep", "members": {"host-a": "10.0.0.1"}}`},
				{"bridges", `{"name": "net1"}`},
				{"vteps", `{"name": "vtep1", "management-ip": "127.0.0.1", "management-port": ` + mgmt + `, "tunnel-zone": "vtz"}`},
			} {
				api.must("POST", "/v1/"+o[0], adminToken, o[1], nil, 201)
			}
			api.must("POST", "/v1/vteps/vtep1/bindings", adminToken, `{"port-name": "eth0", "vlan": 7, "bridge": "net1"}`, nil, 201)
			var st vxgw.Status
			for ctx.Err() == nil {
				if err := json.Unmarshal(api.must("GET", "/v1/vteps/vtep1/status", readerToken, "", nil, 200).body, &st); err != nil {
					t.Error(err)
					return
				}
				if st.Connection == vxgw.ConnConnected && st.OwnerName == "gw-node" && len(st.TunnelIPs) == 1 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			for ctx.Err() == nil {
				out, err := srv.VtepCtl(ctx, "list-ls")
				if err != nil {
					t.Error(err)
					return
				}
				if strings.Contains(out, "hivenet-") {
					bound, _ := srv.VtepCtl(ctx, "list-bindings", "ps1", "eth0")
					if !strings.Contains(bound, "0007") {
						t.Errorf("eth0's bindings: %q", bound)
					}
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Errorf("no switch in the VTEP's database; status %+v", st)
		})
	if code != 0 || t.Failed() {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
}
