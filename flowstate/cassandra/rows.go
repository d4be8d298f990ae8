package cassandra

import (
	"fmt"
	"net"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// connRow is the columns of a conntrack row after the port.
type connRow struct {
	proto            int
	srcIP, dstIP     net.IP
	srcPort, dstPort int
	device           gocql.UUID
}

func connArgs(port topology.ID, k *flowstate.ConnKey, ttl int) []any {
	return []any{gocql.UUID(port), int(k.Proto), net.IP(k.SrcIP[:]), int(k.SrcPort), net.IP(k.DstIP[:]), int(k.DstPort), gocql.UUID(k.Device), ttl}
}

func natArgs(port topology.ID, e *flowstate.NATEntry, ttl int) []any {
	k := &e.Key
	return []any{gocql.UUID(port), int(k.Proto), net.IP(k.SrcIP[:]), int(k.SrcPort), net.IP(k.DstIP[:]), int(k.DstPort), gocql.UUID(k.Device),
		k.Type.String(), net.IP(e.Binding.IP[:]), int(e.Binding.Port), ttl}
}

// key converts a row back to a conntrack key.
func (r *connRow) key() (flowstate.ConnKey, error) {
	src, ok1 := ipv4(r.srcIP)
	dst, ok2 := ipv4(r.dstIP)
	if !ok1 || !ok2 || !port16(r.srcPort) || !port16(r.dstPort) || r.proto < 0 || r.proto > 255 {
		return flowstate.ConnKey{}, fmt.Errorf("flowstate/cassandra: malformed row %v:%d -> %v:%d proto %d", r.srcIP, r.srcPort, r.dstIP, r.dstPort, r.proto)
	}
	return flowstate.ConnKey{Device: topology.ID(r.device), SrcIP: src, DstIP: dst, SrcPort: uint16(r.srcPort), DstPort: uint16(r.dstPort), Proto: uint8(r.proto)}, nil
}

func ipv4(ip net.IP) (flowstate.IPv4, bool) {
	v := ip.To4()
	if v == nil {
		return flowstate.IPv4{}, false
	}
	return flowstate.IPv4(v), true
}

func port16(p int) bool { return p >= 0 && p <= 0xffff }

// natTypes maps the type column's text back to the key type.
var natTypes = func() map[string]flowstate.NATKeyType {
	m := make(map[string]flowstate.NATKeyType)
	for t := flowstate.NATFwdDNAT; t <= flowstate.NATRevSNAT; t++ {
		m[t.String()] = t
	}
	return m
}()

// natEntry converts a NAT row back to an entry.
func natEntry(r *connRow, typ string, ip net.IP, port int) (flowstate.NATEntry, error) {
	k, err := r.key()
	if err != nil {
		return flowstate.NATEntry{}, err
	}
	t, ok := natTypes[typ]
	b, ok2 := ipv4(ip)
	if !ok || !ok2 || !port16(port) {
		return flowstate.NATEntry{}, fmt.Errorf("flowstate/cassandra: malformed NAT row: type %q, translation %v:%d", typ, ip, port)
	}
	return flowstate.NATEntry{Key: flowstate.NATKey{ConnKey: k, Type: t}, Binding: flowstate.NATBinding{IP: b, Port: uint16(port)}}, nil
}
