package gateway_test

import (
	"context"
	"log"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/vxgw/floodproxy"
	"github.com/hivenet/hivenet/vxgw/gateway"
)

// A cluster node runs the gateway: one instance per VTEP, on the node that
// owns it, beside the flooding-proxy manager (one in the cluster). Each
// VTEP's instance connects to the VTEP's management address and port;
// bind VTEP ports to bridges with vxgw.Bind (or the REST API) and read the
// result with vxgw.ReadStatus.
func ExampleNew() {
	client := memory.NewServer(memory.Config{}).NewClient() // nsdb/zookeeper in a deployment
	defer client.Close()
	node, err := cluster.New(cluster.Config{Name: "cn1", NSDB: client})
	if err != nil {
		log.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{NSDB: client, Node: node.ID(), NodeName: node.Name()})
	if err != nil {
		log.Fatal(err)
	}
	if err := node.AddPerEntity(gw, nsdb.KeyVTEPManager()); err != nil {
		log.Fatal(err)
	}
	fp, err := floodproxy.New(floodproxy.Config{NSDB: client})
	if err != nil {
		log.Fatal(err)
	}
	if err := node.Add(fp, cluster.Leader); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real node runs until it is told to stop
	node.Run(ctx)
}
