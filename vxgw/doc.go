// Package vxgw synchronises VxLAN gateways: it binds virtual bridges to
// hardware VTEPs over OVSDB (hardware_vtep schema), exchanging MAC tables in
// both directions and publishing the flooding proxy.
//
// The OVSDB client it talks to VTEPs with is in vxgw/ovsdb, the typed
// hardware_vtep rows in vxgw/ovsdb/vtep; the synchronisation service itself
// is not written yet.
package vxgw
