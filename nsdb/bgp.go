package nsdb

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/topology"
)

// KeyPortBGPStatus is the state of the BGP sessions of an uplink port, as
// its host's agent last saw them; its value is a BGPStatus in JSON,
// rewritten every few seconds while the speaker runs.
func KeyPortBGPStatus() KeySpec { return KeySpec{topology.KindPort, "bgp_status", KeyLastWriteWins} }

// LearnedRoute is a value of KeyPortRoutes: a route the port's BGP speaker
// learned, to Dst through the peer Gateway. The route belongs to the
// session that wrote it and vanishes with it.
type LearnedRoute struct {
	Dst     netip.Prefix
	Gateway netip.Addr
}

// String returns the text form, "DST via GATEWAY".
func (r LearnedRoute) String() string { return r.Dst.String() + " via " + r.Gateway.String() }

// ParseLearnedRoute parses the text form of a LearnedRoute: an IPv4 prefix
// in canonical (masked) form, " via " and an IPv4 address.
func ParseLearnedRoute(v string) (LearnedRoute, error) {
	dst, gw, ok := strings.Cut(v, " via ")
	if !ok || len(v) > 64 {
		return LearnedRoute{}, fmt.Errorf("%w: learned route %.64q: want \"PREFIX via ADDR\"", ErrInvalid, v)
	}
	p, err := netip.ParsePrefix(dst)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return LearnedRoute{}, fmt.Errorf("%w: learned route %q: bad destination", ErrInvalid, v)
	}
	a, err := netip.ParseAddr(gw)
	if err != nil || !a.Is4() {
		return LearnedRoute{}, fmt.Errorf("%w: learned route %q: bad gateway", ErrInvalid, v)
	}
	return LearnedRoute{Dst: p, Gateway: a}, nil
}

// BGPStatus is the value of KeyPortBGPStatus.
type BGPStatus struct {
	// Host is the agent's host; Updated when it wrote the status.
	Host    topology.ID `json:"host"`
	Updated time.Time   `json:"updated"`
	// Running reports that the speaker runs (false: stopped, with the
	// reason in Error).
	Running bool            `json:"running"`
	Error   string          `json:"error,omitempty"`
	Peers   []BGPPeerStatus `json:"peers"`
}

// BGPPeerStatus is the state of one session.
type BGPPeerStatus struct {
	Peer netip.Addr `json:"peer"`
	ASN  uint32     `json:"asn"`
	// State is the BGP FSM state (idle, connect, active, opensent,
	// openconfirm, established).
	State string `json:"state"`
	// UptimeSeconds is how long the session has been established.
	UptimeSeconds int64 `json:"uptime_s"`
	// Received and Sent count the prefixes received from and advertised to
	// the peer.
	Received  uint64 `json:"received"`
	Sent      uint64 `json:"sent"`
	Flaps     uint64 `json:"flaps"`
	LastError string `json:"last_error,omitempty"`
}

// MaxBGPStatus bounds the size of a BGPStatus value.
const MaxBGPStatus = 64 << 10

// String returns the JSON form.
func (s BGPStatus) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ParseBGPStatus parses the JSON form of a BGPStatus (at most
// MaxBGPStatus bytes).
func ParseBGPStatus(v string) (BGPStatus, error) {
	var s BGPStatus
	if len(v) > MaxBGPStatus {
		return BGPStatus{}, fmt.Errorf("%w: BGP status: %d bytes (max %d)", ErrInvalid, len(v), MaxBGPStatus)
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return BGPStatus{}, fmt.Errorf("%w: BGP status: %w", ErrInvalid, err)
	}
	return s, nil
}
