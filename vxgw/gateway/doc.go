// Package gateway is the VxLAN gateway service: it joins virtual bridges to
// hardware VTEPs by keeping each VTEP's hardware_vtep database (OVSDB) and
// the NSDB in step.
//
// It is a cluster service with one instance per VTEP: add it to a cluster
// node with
//
//	gw, _ := gateway.New(gateway.Config{NSDB: client, Node: node.ID(), NodeName: node.Name()})
//	node.AddPerEntity(gw, nsdb.KeyVTEPManager())
//
// and the node that first writes a VTEP's manager key runs the instance
// for it; when that node's NSDB session ends, another node's takes the key
// and the VTEP over, resynchronising everything from scratch.
//
// An instance connects to the VTEP's OVSDB server (Config.Endpoint; by
// default its management address and port), replicates the tables it
// needs and reconciles, after every change on either side:
//
//   - per bridge bound to the VTEP (vxgw.Bind): a Logical_Switch named
//     "hivenet-<bridge uuid>" whose tunnel_key is the bridge's VNI, the
//     VLAN bindings of the bound Physical_Port rows, and an unknown-dst
//     Mcast_Macs_Remote row toward the flooding proxy of the VTEP's tunnel
//     zone (nsdb.KeyFloodingProxy, chosen by vxgw/floodproxy), so that the
//     VTEP sends the frames it floods to that host;
//   - NSDB → VTEP: every MAC of the bridge's MAC table on a port bound to
//     a host of the VTEP's tunnel zone is a Ucast_Macs_Remote row whose
//     locator is that host's address in the zone (inserted with the row,
//     in one transaction), with an address from the IPv4-MAC table; moved
//     and removed MACs follow;
//   - VTEP → NSDB: every unicast Ucast_Macs_Local row is a persistent MAC
//     table entry pointing at the bridge's VxLAN port toward the VTEP, and
//     its address a persistent IPv4-MAC entry; removals follow;
//   - unbinding removes the switch and every row on it, and the entries
//     written for it;
//   - the connection state (nsdb.KeyVTEPConnectionState) and the VTEP's
//     tunnel addresses (nsdb.KeyVTEPConfig, which agents tunnel to) are
//     published while the instance runs; vxgw.ReadStatus reads them.
//
// Reconciliation compares what is with what should be, so a reconnection
// (after which vxgw/ovsdb has replaced the replica with the server's
// contents), a new owner or a lost write needs nothing but another pass;
// a write is planned only once the replica shows the previous one, so
// nothing is written twice. Switches not named "hivenet-..." are never
// touched.
package gateway
