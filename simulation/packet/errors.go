package packet

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers test with errors.Is.
var (
	// ErrTruncated: the frame ends before a header (or the IP datagram
	// length announced by the header) does.
	ErrTruncated = errors.New("packet: truncated")
	// ErrMalformed: a header field holds an impossible value (wrong IP
	// version, header length below the minimum, total length shorter than
	// the header, ...).
	ErrMalformed = errors.New("packet: malformed")
	// ErrUnsupported: the operation does not apply to this frame or match
	// (e.g. rewriting an IPv6 address, setting an ICMP identifier on a
	// non-echo packet, a frame longer than 65535 bytes).
	ErrUnsupported = errors.New("packet: unsupported")
	// ErrBadArgument: a builder or rewrite argument is invalid (an IPv6
	// address where IPv4 is required, a VLAN stack overflow, ...).
	ErrBadArgument = errors.New("packet: bad argument")
)

// Error is the concrete type of the errors returned by Parse and the rewrite
// functions. The values are pre-built, so returning one never allocates.
type Error struct {
	Layer  string // "ethernet", "vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", ...
	Reason string // human-readable detail
	Err    error  // one of the package sentinels
}

// Error implements error.
func (e *Error) Error() string { return e.Err.Error() + ": " + e.Layer + ": " + e.Reason }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func newErr(layer, reason string, sentinel error) *Error {
	return &Error{Layer: layer, Reason: reason, Err: sentinel}
}

// Pre-built errors: the hot path never allocates, even on bad input.
var (
	errFrameTooLong   = newErr("ethernet", "frame longer than 65535 bytes", ErrUnsupported)
	errEthTruncated   = newErr("ethernet", "shorter than 14 bytes", ErrTruncated)
	errVLANTruncated  = newErr("vlan", "tag cut short", ErrTruncated)
	errARPTruncated   = newErr("arp", "header cut short", ErrTruncated)
	errIPv4Truncated  = newErr("ipv4", "header cut short", ErrTruncated)
	errIPv4Version    = newErr("ipv4", "version is not 4", ErrMalformed)
	errIPv4IHL        = newErr("ipv4", "header length below 20 bytes", ErrMalformed)
	errIPv4TotalLen   = newErr("ipv4", "total length shorter than the header", ErrMalformed)
	errIPv4Datagram   = newErr("ipv4", "datagram longer than the frame", ErrTruncated)
	errIPv6Truncated  = newErr("ipv6", "header cut short", ErrTruncated)
	errIPv6Version    = newErr("ipv6", "version is not 6", ErrMalformed)
	errIPv6Datagram   = newErr("ipv6", "payload longer than the frame", ErrTruncated)
	errIPv6ExtTrunc   = newErr("ipv6", "extension header cut short", ErrTruncated)
	errTCPTruncated   = newErr("tcp", "header cut short", ErrTruncated)
	errTCPDataOffset  = newErr("tcp", "data offset below 5 words", ErrMalformed)
	errUDPTruncated   = newErr("udp", "header cut short", ErrTruncated)
	errICMPTruncated  = newErr("icmp", "header cut short", ErrTruncated)
	errICMP6Truncated = newErr("icmpv6", "header cut short", ErrTruncated)

	errNotIPv4      = newErr("ipv4", "frame is not IPv4", ErrUnsupported)
	errNoL4         = newErr("l4", "no TCP or UDP header in the frame", ErrUnsupported)
	errNotEcho      = newErr("icmp", "not an echo request or reply", ErrUnsupported)
	errNoInner      = newErr("icmp", "no embedded IPv4 header", ErrUnsupported)
	errInnerShort   = newErr("icmp", "embedded L4 header not quoted", ErrUnsupported)
	errNoVLAN       = newErr("vlan", "frame is untagged", ErrUnsupported)
	errVLANFull     = newErr("vlan", "tag stack full", ErrBadArgument)
	errBadTPID      = newErr("vlan", "TPID is not 0x8100 or 0x88a8", ErrBadArgument)
	errAddrNot4     = newErr("ipv4", "address is not IPv4", ErrBadArgument)
	errAddrNot6     = newErr("ipv6", "address is not IPv6", ErrBadArgument)
	errApplyField   = newErr("apply", "modified field cannot be rewritten in a frame", ErrUnsupported)
	errLayout       = newErr("layout", "layout does not fit the frame", ErrBadArgument)
	errBuildTooLong = newErr("build", "frame would exceed 65535 bytes", ErrBadArgument)
	errNotICMPError = newErr("icmp", "type is not an ICMP error", ErrBadArgument)
)
