package sandbox

import (
	"fmt"
	"strings"

	"github.com/hivenet/hivenet/datapath"
)

// FormatActions formats a flow's actions in the style of ovs-dpctl, with
// readable set actions: set(tunnel(...)), set(eth(...)), set(ipv4(...)).
func FormatActions(acts datapath.Actions) string {
	if len(acts) == 0 {
		return "drop"
	}
	parts := make([]string, 0, len(acts))
	for _, a := range acts {
		switch a := a.(type) {
		case datapath.Output:
			parts = append(parts, fmt.Sprintf("output(%d)", a.Port))
		case datapath.Set[datapath.TunnelKey]:
			t := a.Value
			parts = append(parts, fmt.Sprintf("set(tunnel(id=%#x,src=%v,dst=%v,ttl=%d,tos=%#x))", t.ID, t.Src, t.Dst, t.TTL, t.TOS))
		case datapath.SetMasked[datapath.EthernetKey]:
			var f []string
			if a.Mask.Src[0] != 0 {
				f = append(f, "src="+a.Value.Src.String())
			}
			if a.Mask.Dst[0] != 0 {
				f = append(f, "dst="+a.Value.Dst.String())
			}
			parts = append(parts, "set(eth("+strings.Join(f, ",")+"))")
		case datapath.SetMasked[datapath.IPv4Key]:
			var f []string
			if !a.Mask.Src.IsUnspecified() {
				f = append(f, "src="+a.Value.Src.String())
			}
			if !a.Mask.Dst.IsUnspecified() {
				f = append(f, "dst="+a.Value.Dst.String())
			}
			if a.Mask.TOS != 0 {
				f = append(f, fmt.Sprintf("tos=%#x", a.Value.TOS))
			}
			if a.Mask.TTL != 0 {
				f = append(f, fmt.Sprintf("ttl=%d", a.Value.TTL))
			}
			parts = append(parts, "set(ipv4("+strings.Join(f, ",")+"))")
		case datapath.SetMasked[datapath.TCPKey]:
			parts = append(parts, fmt.Sprintf("set(tcp(src=%d/%#x,dst=%d/%#x))", a.Value.Src, a.Mask.Src, a.Value.Dst, a.Mask.Dst))
		case datapath.SetMasked[datapath.UDPKey]:
			parts = append(parts, fmt.Sprintf("set(udp(src=%d/%#x,dst=%d/%#x))", a.Value.Src, a.Mask.Src, a.Value.Dst, a.Mask.Dst))
		default:
			parts = append(parts, datapath.Actions{a}.String())
		}
	}
	return strings.Join(parts, ",")
}
