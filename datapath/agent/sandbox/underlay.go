package sandbox

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// DefaultUnderlay maps a tunnel-zone address to 127.0.0.<last octet>.
func DefaultUnderlay(a netip.Addr) netip.Addr {
	b := a.As4()
	return netip.AddrFrom4([4]byte{127, 0, 0, b[3]})
}

// freeTCPPort returns a TCP port that can be listened on at every
// address (a host in several tunnel zones appears several times).
func freeTCPPort(addrs []netip.Addr) (uint16, error) {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	for range 100 {
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, fmt.Errorf("sandbox: no free TCP port: %w", err)
		}
		port := uint16(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		ok := true
		var open []*net.TCPListener
		for _, a := range addrs {
			c, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
			if err != nil {
				ok = false
				break
			}
			open = append(open, c)
		}
		for _, c := range open {
			c.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("sandbox: no TCP port free on every underlay address")
}

// freeUDPPort returns a UDP port that can be bound on every address (a
// host in several tunnel zones appears several times).
func freeUDPPort(addrs []netip.Addr) (uint16, error) {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	for range 100 {
		l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, fmt.Errorf("sandbox: no free UDP port: %w", err)
		}
		port := uint16(l.LocalAddr().(*net.UDPAddr).Port)
		l.Close()
		ok := true
		var open []*net.UDPConn
		for _, a := range addrs {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
			if err != nil {
				ok = false
				break
			}
			open = append(open, c)
		}
		for _, c := range open {
			c.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("sandbox: no UDP port free on every underlay address")
}
