// Package datapath programs an Open vSwitch style datapath: datapaths, vports,
// megaflows with masks, packet execution and upcalls.
//
// It defines typed models for flow keys, masks and actions, and the Datapath
// interface that two implementations satisfy: a client of the Linux
// openvswitch kernel module over generic netlink, and an in-process datapath
// for hosts without the module, for sandboxes and for multi-agent tests.
//
// Kernel ABI constants live in internal/; the simulation and the agent's flow
// translation do not belong here.
package datapath
