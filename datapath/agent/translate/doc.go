// Package translate is the one place where simulated packet fields meet
// datapath flow keys: it turns a simulation result into datapath actions and
// a megaflow mask ([Translator], [Megaflow]), builds frames back from flow
// keys ([FrameFromKey], for re-simulating the flows a restarted agent finds
// in the datapath), and frames the in-band flow-state messages agents send
// each other over the overlay ([AppendFlowStateFrame], [FlowStateTunnelKey],
// [TunnelKeyUpcall]).
//
// It is pure: no goroutines, no I/O, no clock, no NSDB. Where a virtual port
// is (bound here, or behind a tunnel to another host) is asked of a
// [Locator], which the agent implements over its bindings and the ports'
// active states. Keeping these mappings out of the agent lets them be tested
// field by field, frame by frame, against the in-process datapath.
package translate
