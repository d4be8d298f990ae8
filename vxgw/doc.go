// Package vxgw synchronises VxLAN gateways: it binds virtual bridges to
// hardware VTEPs over OVSDB (hardware_vtep schema), exchanging MAC tables in
// both directions and publishing the flooding proxy.
//
// It holds no code yet.
package vxgw
