package cassandra

import "fmt"

// Table names, as the reference's.
const (
	tableConnIn  = "conntrack_by_ingress_port"
	tableConnOut = "conntrack_by_egress_port"
	tableNATIn   = "nat_by_ingress_port"
	tableNATOut  = "nat_by_egress_port"
)

// Schema returns the CQL statements that create keyspace (SimpleStrategy,
// rf replicas) and its four tables, each idempotent.
func Schema(keyspace string, rf int) []string {
	stmts := []string{fmt.Sprintf(
		"CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}",
		keyspace, rf)}
	for _, t := range []string{tableConnIn, tableConnOut} {
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (
	port uuid, proto int, src_ip inet, src_port int, dst_ip inet, dst_port int, device uuid,
	PRIMARY KEY ((port), proto, src_ip, src_port, dst_ip, dst_port, device)
) WITH gc_grace_seconds = 30`, keyspace, t))
	}
	for _, t := range []string{tableNATIn, tableNATOut} {
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (
	port uuid, proto int, src_ip inet, src_port int, dst_ip inet, dst_port int, device uuid, type text,
	translate_ip inet, translate_port int,
	PRIMARY KEY ((port), proto, src_ip, src_port, dst_ip, dst_port, device, type)
) WITH gc_grace_seconds = 30`, keyspace, t))
	}
	return stmts
}

// statements are the queries of one keyspace.
type statements struct {
	insConn, insNAT [2]string // [0] by ingress port, [1] by egress port
	selConn, selNAT [2]string
}

func newStatements(ks string) statements {
	var s statements
	for i, t := range []string{tableConnIn, tableConnOut} {
		s.insConn[i] = fmt.Sprintf("INSERT INTO %s.%s (port, proto, src_ip, src_port, dst_ip, dst_port, device) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?", ks, t)
		s.selConn[i] = fmt.Sprintf("SELECT proto, src_ip, src_port, dst_ip, dst_port, device FROM %s.%s WHERE port = ?", ks, t)
	}
	for i, t := range []string{tableNATIn, tableNATOut} {
		s.insNAT[i] = fmt.Sprintf("INSERT INTO %s.%s (port, proto, src_ip, src_port, dst_ip, dst_port, device, type, translate_ip, translate_port) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?", ks, t)
		s.selNAT[i] = fmt.Sprintf("SELECT proto, src_ip, src_port, dst_ip, dst_port, device, type, translate_ip, translate_port FROM %s.%s WHERE port = ?", ks, t)
	}
	return s
}
