package ovsdb

import (
	"fmt"
	"strings"
	"testing"
)

// macUpdate2 builds an update2 notification's table-updates inserting n
// rows of table Mac, like a VTEP learning n MACs at once.
func macUpdate2(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"Mac":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%08x-0000-4000-8000-000000000000":{"insert":{"MAC":"02:00:00:%02x:%02x:%02x",`+
			`"logical_switch":["uuid","aaaaaaaa-0000-0000-0000-000000000001"],`+
			`"locator":["uuid","bbbbbbbb-0000-0000-0000-000000000002"],"ipaddr":"10.0.%d.%d"}}`,
			i, i>>16&0xff, i>>8&0xff, i&0xff, i>>8&0xff, i&0xff)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// BenchmarkMonitorUpdateDecode measures decoding an update2 notification
// into complete rows and applying it to a monitor's cache (the handler does
// nothing). Per op: one notification of n rows.
func BenchmarkMonitorUpdateDecode(b *testing.B) {
	schema := testSchema(b)
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			m := &Monitor{id: "m", db: "testdb", cond: true,
				reqs:    map[string]MonitorRequest{"Mac": {}},
				handler: func(Updates) {},
				cache:   make(map[string]map[UUID]Row)}
			if err := m.applyInitial(schema, []byte(`{}`), false); err != nil {
				b.Fatal(err)
			}
			raw := macUpdate2(n)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.applyUpdate("update2", raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

// BenchmarkEncodeTransact measures encoding a transaction inserting a
// locator and a MAC that refers to it.
func BenchmarkEncodeTransact(b *testing.B) {
	ops := []Operation{
		Insert{Table: "Physical_Locator", Row: Row{"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.1"}, UUIDName: "loc"},
		Insert{Table: "Ucast_Macs_Remote", Row: Row{"MAC": "02:00:00:00:00:01", "ipaddr": "10.1.0.1",
			"logical_switch": UUID("aaaaaaaa-0000-0000-0000-000000000001"), "locator": NamedUUID("loc")}},
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = appendTransact(buf[:0], "hardware_vtep", ops); err != nil {
			b.Fatal(err)
		}
	}
}
