// Package kernel is a client of the Linux openvswitch kernel module over
// generic netlink: the ovs_datapath, ovs_vport, ovs_flow and ovs_packet
// families.
//
// # Entry points
//
// Dial opens a Client, resolving the families (a missing module gives an
// error matching os.ErrNotExist and datapath.ErrNotSupported). The Client
// manages datapaths (CreateDatapath with user-feature negotiation,
// OpenDatapath, GetDatapath, Datapaths, DeleteDatapath); a *Datapath handle
// implements datapath.Datapath, datapath.FlowBatcher and datapath.FlowDeleter.
//
// # Wire format
//
// Flow keys, masks and actions are encoded by a small allocation-free
// attribute appender and scanner (nlattr.go): encoding a key into a reused
// buffer does not allocate, nor does decoding one (unless it carries
// attributes this package does not model, which are kept verbatim in
// FlowKey.Unknown). Datapath and vport messages use
// netlink.AttributeEncoder/Decoder. The scanner accepts an unpadded last
// attribute, as sent by kernels with the OVS_DP_F_UNALIGNED feature.
//
// # Sockets and concurrency
//
// Requests share one netlink socket and are serialized on it; each waits for
// its acknowledgement. Flow dumps run on their own socket and stream: flows
// are decoded as the kernel sends them, and the loop body may call other
// methods. PutFlows writes batches of 64 flow requests with one sendmsg and
// then collects the acknowledgements. Upcalls arrive on UpcallSockets, each
// a dedicated socket whose port ID is registered as a vport upcall PID (or,
// with per-CPU dispatch, through Datapath.SetPerCPUUpcallPIDs).
//
// Blocking calls take a context; its deadline becomes the socket deadline
// and cancelling it interrupts the call.
package kernel
