// Package datapath programs an Open vSwitch style datapath: datapaths, vports,
// megaflows with masks, packet execution and upcalls.
//
// It defines typed models for flow keys, masks and actions, and the Datapath
// interface that two implementations satisfy: a client of the Linux
// openvswitch kernel module over generic netlink (package datapath/kernel),
// and an in-process datapath for hosts without the module, for sandboxes and
// for multi-agent tests.
//
// # Keys, masks and megaflows
//
// FlowKey holds every field the kernel extracts, grouped like the kernel's
// OVS_KEY_ATTR_* attributes; its Fields bit set says which groups are
// present. The same type is used as a mask: a group absent from the mask is
// wildcarded, a present group matches the bits set in its fields.
// ExactMask(k) matches k exactly; Without removes groups. Match{Key, Mask} is
// a megaflow, and Match.Matches and FlowKey.Masked implement megaflow
// lookup semantics. FlowKey is comparable (usable as a map key) and masking
// does not allocate.
//
// # Actions
//
// Actions is a slice of values of a sealed interface (Output, Userspace,
// Set[T], SetMasked[T], PushVLAN, PopVLAN, Recirc, Hash, Sample, Clone, CT,
// CTClear, Trunc, Meter), with UnknownAction carrying any other kernel
// action verbatim so that dumps round-trip.
//
// # Errors
//
// Operations return *OpError naming the operation. Causes match the
// sentinels ErrNotFound, ErrExists, ErrInvalid, ErrNotSupported, ErrClosed
// and ErrMalformed with errors.Is; kernel errnos are wrapped in Errno, which
// also matches the syscall.Errno and os.ErrNotExist/os.ErrExist.
//
// Kernel ABI constants live in internal/ovsh; the simulation and the agent's
// flow translation do not belong here.
package datapath
