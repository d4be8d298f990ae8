package harness

import (
	"fmt"

	"github.com/hivenet/hivenet/topology"
)

// Spec describes a packet as strings, with the trace command's flags as
// keys: what a command line or a request body holds. Exactly one of
// ICMPEcho, TCP, UDP and ARPRequest is set; the other fields are optional.
type Spec struct {
	// From names the exterior port the packet enters.
	From string `json:"from"`
	// ICMPEcho is the destination of an echo request (Ping).
	ICMPEcho string `json:"icmp-echo,omitempty"`
	// TCP and UDP are flows as TCP and UDP take them.
	TCP string `json:"tcp,omitempty"`
	UDP string `json:"udp,omitempty"`
	// ARPRequest is the address asked for (ARPRequest).
	ARPRequest string `json:"arp-request,omitempty"`
	// SrcMAC and DstMAC override the MACs ("02:00:00:00:00:01").
	SrcMAC string `json:"src-mac,omitempty"`
	DstMAC string `json:"dst-mac,omitempty"`
	// SrcIP is the source address when the flow does not give one.
	SrcIP string `json:"src-ip,omitempty"`
	// TTL is the IPv4 TTL (1-255; 0 means DefaultTTL).
	TTL int `json:"ttl,omitempty"`
	// VLAN tags the frame (1-4095; 0 means untagged).
	VLAN int `json:"vlan,omitempty"`
}

// Packet returns the packet s describes. Errors wrap ErrBadPacket.
func (s Spec) Packet() (Packet, error) {
	var p Packet
	n := 0
	for _, v := range []string{s.ICMPEcho, s.TCP, s.UDP, s.ARPRequest} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return p, fmt.Errorf("%w: give exactly one of icmp-echo, tcp, udp and arp-request", ErrBadPacket)
	}
	switch {
	case s.ICMPEcho != "":
		p = Ping(s.ICMPEcho)
	case s.TCP != "":
		p = TCP(s.TCP)
	case s.UDP != "":
		p = UDP(s.UDP)
	default:
		p = ARPRequest(s.ARPRequest)
	}
	if s.SrcIP != "" && !p.src.IsValid() {
		p = p.WithSrc(s.SrcIP)
	}
	var err error
	if p.srcMAC, err = parseMAC("src-mac", s.SrcMAC); err != nil {
		return Packet{}, err
	}
	if p.dstMAC, err = parseMAC("dst-mac", s.DstMAC); err != nil {
		return Packet{}, err
	}
	if s.TTL < 0 || s.TTL > 255 || s.VLAN < 0 || s.VLAN > 4095 {
		return Packet{}, fmt.Errorf("%w: the TTL must be at most 255 and the VLAN at most 4095", ErrBadPacket)
	}
	p.ttl, p.vlan = uint8(s.TTL), uint16(s.VLAN)
	return p, p.err
}

// parseMAC parses a MAC; empty gives the zero MAC.
func parseMAC(what, s string) (topology.MAC, error) {
	if s == "" {
		return topology.MAC{}, nil
	}
	mac, err := topology.ParseMAC(s)
	if err != nil {
		return mac, fmt.Errorf("%w: %s: %w", ErrBadPacket, what, err)
	}
	return mac, nil
}
