package nsdb

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hivenet/hivenet/topology"
)

// PortState is the value of KeyPortActive: the host where the port is active
// and the tunnel key that host allocated for it.
type PortState struct {
	Host topology.ID
	// TunnelKey is the host's local tunnel key for the port; zero means
	// "use the topology's tunnel key" (legacy values carry none).
	TunnelKey uint32
}

// String returns the text form, "<host-uuid>#<tunnel-key>".
func (s PortState) String() string {
	return s.Host.String() + "#" + strconv.FormatUint(uint64(s.TunnelKey), 10)
}

// ParsePortState parses the text form of a PortState. A bare host UUID, the
// reference's legacy form, parses with a zero tunnel key.
func ParsePortState(v string) (PortState, error) {
	host, key, hasKey := strings.Cut(v, "#")
	id, err := topology.ParseID(host)
	if err != nil {
		return PortState{}, fmt.Errorf("%w: port state %q: %w", ErrInvalid, v, err)
	}
	if id.IsZero() {
		return PortState{}, fmt.Errorf("%w: port state %q: zero host ID", ErrInvalid, v)
	}
	s := PortState{Host: id}
	if hasKey {
		k, err := strconv.ParseUint(key, 10, 32)
		if err != nil {
			return PortState{}, fmt.Errorf("%w: port state %q: bad tunnel key", ErrInvalid, v)
		}
		s.TunnelKey = uint32(k)
	}
	return s, nil
}

// FloodingProxy is the value of KeyFloodingProxy: the host chosen to flood
// VTEP traffic of a tunnel zone, and its tunnel (underlay) address.
type FloodingProxy struct {
	Host topology.ID
	Addr netip.Addr
}

// String returns the text form, "<host-uuid>#<tunnel-ip>".
func (p FloodingProxy) String() string { return p.Host.String() + "#" + p.Addr.String() }

// ParseFloodingProxy parses the text form of a FloodingProxy.
func ParseFloodingProxy(v string) (FloodingProxy, error) {
	host, addr, ok := strings.Cut(v, "#")
	if !ok {
		return FloodingProxy{}, fmt.Errorf("%w: flooding proxy %q: want <host-uuid>#<tunnel-ip>", ErrInvalid, v)
	}
	id, err := topology.ParseID(host)
	if err != nil {
		return FloodingProxy{}, fmt.Errorf("%w: flooding proxy %q: %w", ErrInvalid, v, err)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return FloodingProxy{}, fmt.Errorf("%w: flooding proxy %q: bad tunnel address", ErrInvalid, v)
	}
	return FloodingProxy{Host: id, Addr: a}, nil
}

// VTEPConfig is the value of KeyVTEPConfig: the VXLAN tunnel addresses of a
// VTEP, as its Physical_Switch row lists them.
type VTEPConfig struct {
	TunnelIPs []netip.Addr
}

// String returns the text form, the addresses separated by commas.
func (c VTEPConfig) String() string {
	var b strings.Builder
	for i, a := range c.TunnelIPs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// MaxVTEPTunnelIPs bounds the addresses of a VTEPConfig.
const MaxVTEPTunnelIPs = 16

// ParseVTEPConfig parses the text form of a VTEPConfig: one to
// MaxVTEPTunnelIPs addresses.
func ParseVTEPConfig(v string) (VTEPConfig, error) {
	var c VTEPConfig
	if strings.Count(v, ",") >= MaxVTEPTunnelIPs {
		return VTEPConfig{}, fmt.Errorf("%w: VTEP config: more than %d addresses", ErrInvalid, MaxVTEPTunnelIPs)
	}
	for _, s := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return VTEPConfig{}, fmt.Errorf("%w: VTEP config %q: bad tunnel address %q", ErrInvalid, v, s)
		}
		c.TunnelIPs = append(c.TunnelIPs, a)
	}
	return c, nil
}

// ValidName reports whether s is a valid election, sequence or state key
// name: non-empty, at most 128 bytes, of ASCII letters, digits, '-', '_' and
// '.', and not "." or "..".
func ValidName(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// String returns the reference system's text form of an ARP entry,
// "<mac|null>;<expiry-ms>;<stale-ms>;<last-arp-ms>", times in milliseconds
// since the Unix epoch (0 for the zero time).
func (e ARPEntry) String() string {
	m := "null"
	if !e.MAC.IsZero() {
		m = e.MAC.String()
	}
	return m + ";" + strconv.FormatInt(millis(e.Expiry), 10) + ";" +
		strconv.FormatInt(millis(e.Stale), 10) + ";" + strconv.FormatInt(millis(e.LastARP), 10)
}

// ParseARPEntry parses the text form of an ARP entry; the result is
// normalised (UTC, millisecond precision).
func ParseARPEntry(v string) (ARPEntry, error) {
	f := strings.Split(v, ";")
	if len(f) != 4 {
		return ARPEntry{}, fmt.Errorf("%w: ARP entry %q: want <mac|null>;<expiry>;<stale>;<last-arp>", ErrInvalid, v)
	}
	var e ARPEntry
	if f[0] != "null" {
		m, err := topology.ParseMAC(f[0])
		if err != nil {
			return ARPEntry{}, fmt.Errorf("%w: ARP entry %q: %w", ErrInvalid, v, err)
		}
		e.MAC = m
	}
	for i, t := range []*time.Time{&e.Expiry, &e.Stale, &e.LastARP} {
		ms, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return ARPEntry{}, fmt.Errorf("%w: ARP entry %q: bad time %q", ErrInvalid, v, f[i+1])
		}
		*t = fromMillis(ms)
	}
	return e, nil
}
