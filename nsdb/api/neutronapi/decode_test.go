package neutronapi

import (
	"errors"
	"testing"
)

// decoders are the request-body decoders, each on a create and an update.
var decoders = []func(body []byte, create bool) error{
	func(b []byte, c bool) error { _, err := decodeNetwork(b, c); return err },
	func(b []byte, c bool) error { _, err := decodeSubnet(b, c); return err },
	func(b []byte, c bool) error { _, err := decodePort(b, c); return err },
	func(b []byte, c bool) error { _, err := decodeRouter(b, c); return err },
	func(b []byte, c bool) error { _, err := decodeFloatingIP(b, c); return err },
	func(b []byte, c bool) error { _, err := decodeSecurityGroup(b, c); return err },
	func(b []byte, _ bool) error { _, err := decodeRule(b); return err },
	func(b []byte, _ bool) error { _, _, err := decodeInterface(b); return err },
}

// FuzzDecodeBody: the decoders of Neutron request bodies never panic, and
// refuse what they refuse with a bad-request error (never a server error).
func FuzzDecodeBody(f *testing.F) {
	for i, s := range []string{
		`{"network": {"name": "n", "admin_state_up": true, "router:external": "True", "mtu": "1400"}}`,
		`{"subnet": {"network_id": "0f0f0f0f-0000-4000-8000-000000000001", "cidr": "10.0.0.0/24", "gateway_ip": null,
		  "allocation_pools": [{"start": "10.0.0.10", "end": "10.0.0.20"}], "host_routes": [{"destination": "::ffff:10.0.0.0/104", "nexthop": "10.0.0.1"}]}}`,
		`{"port": {"network_id": "0f0f0f0f-0000-4000-8000-000000000001", "fixed_ips": [{"subnet_id": "0f0f0f0f-0000-4000-8000-000000000002", "ip_address": null}],
		  "allowed_address_pairs": [{"ip_address": "10.0.0.0/24", "mac_address": "fa:16:3e:00:00:01"}], "binding:profile": {"interface_name": "tap1"}}}`,
		`{"router": {"external_gateway_info": {"network_id": "0f0f0f0f-0000-4000-8000-000000000001", "enable_snat": false,
		  "external_fixed_ips": [{"ip_address": "203.0.113.5"}]}, "routes": [{"destination": "10.1.0.0/16", "nexthop": "10.0.0.9"}]}}`,
		`{"floatingip": {"floating_network_id": "0f0f0f0f-0000-4000-8000-000000000001", "port_id": null}}`,
		`{"security_group": {"name": "web", "stateful": true}}`,
		`{"security_group_rule": {"security_group_id": "0f0f0f0f-0000-4000-8000-000000000001", "protocol": 6, "port_range_min": "22", "remote_ip_prefix": "0.0.0.0/0"}}`,
		`{"subnet_id": "0f0f0f0f-0000-4000-8000-000000000001"}`,
	} {
		f.Add(uint8(i), true, []byte(s))
	}
	for _, s := range []string{`{"network": {"name": 7}}`, `{"network": {}} {}`, `[]`, `null`, "\xff", `{"port": {"fixed_ips": [1]}}`} {
		f.Add(uint8(0), false, []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, create bool, body []byte) {
		dec := decoders[int(which)%len(decoders)]
		err := dec(body, create)
		if err != nil && !errors.Is(err, errBody) {
			t.Fatalf("decoder %d refused %q with %v, not a bad-request error", which, body, err)
		}
		if again := dec(body, create); (again == nil) != (err == nil) {
			t.Fatalf("decoder %d is not deterministic on %q: %v then %v", which, body, err, again)
		}
	})
}
