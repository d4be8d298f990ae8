// Package vxgw is the VxLAN gateway's model in the NSDB: what binding a
// virtual bridge to a port and VLAN of a hardware VTEP writes, and how the
// gateway's state is read back.
//
// Binding (Bind) gives the bridge a VNI from the shared sequence
// nsdb.SeqVxGWTunnelKey (from 10000) unless it has one, adds the binding to
// the VTEP object and creates the bridge's VxLAN port toward the VTEP, one
// per (bridge, VTEP) with the ID PortID gives it: the agents tunnel frames
// for MACs behind the VTEP through that port, and frames from the VTEP
// enter the bridge there. Unbind removes the binding, and the port with the
// bridge's last binding on the VTEP. Prepare does for a VTEP object what
// Bind does for one binding, so bindings written some other way (a
// topology file, a PUT of the VTEP) get their VNI and port too.
//
// Three state keys carry the gateway's live state: nsdb.KeyVTEPManager (the
// cluster node that owns the VTEP), nsdb.KeyVTEPConnectionState (that
// node's OVSDB connection to the VTEP, a Connection in text form) and
// nsdb.KeyVTEPConfig (the VTEP's tunnel addresses); with the flooding
// proxy of the VTEP's tunnel zone (nsdb.KeyFloodingProxy), ReadStatus
// assembles them.
//
// The package holds the model only, on packages nsdb and topology, so the
// REST API and the agents use it without the gateway itself: the service
// that keeps each VTEP's OVSDB and the NSDB in step is vxgw/gateway, the
// flooding-proxy manager vxgw/floodproxy, the OVSDB client vxgw/ovsdb and
// the typed hardware_vtep rows vxgw/ovsdb/vtep.
package vxgw
