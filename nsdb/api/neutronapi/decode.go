package neutronapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// errBody is wrapped by every error of the request-body decoder: the
// request is malformed (400).
var errBody = errors.New("bad request body")

// bodyError is an error of the request-body decoder, with Neutron's
// message.
type bodyError struct{ msg string }

func (e *bodyError) Error() string { return e.msg }

// Is makes a bodyError an errBody.
func (e *bodyError) Is(target error) bool { return target == errBody }

func badBody(format string, a ...any) error { return &bodyError{fmt.Sprintf(format, a...)} }

// Limits of lists in request bodies (Neutron's defaults where it has one).
const (
	maxFixedIPs   = 5
	maxDNS        = 5
	maxHostRoutes = 20
	maxPools      = 32
	maxPairs      = 10
	maxRoutes     = 30
	maxGroups     = 32
	maxProfile    = 4096
)

// attrs is the inner object of a request body, {"network": {...}}: its
// attributes, each decoded by one of the typed methods, which record the
// first error.
type attrs struct {
	raw  map[string]json.RawMessage
	used map[string]bool
	err  error
}

// parseBody parses a request body of the form {"<resource>": {...}}.
func parseBody(body []byte, resource string) (*attrs, error) {
	var outer map[string]json.RawMessage
	if err := strictJSON(body, &outer); err != nil {
		return nil, badBody("%v", err)
	}
	inner, ok := outer[resource]
	if !ok || len(outer) != 1 {
		return nil, badBody("Resource body required: the body must be {%q: {...}}", resource)
	}
	a := &attrs{used: map[string]bool{}}
	if err := strictJSON(inner, &a.raw); err != nil || a.raw == nil {
		return nil, badBody("the %s must be a JSON object", resource)
	}
	return a, nil
}

// strictJSON decodes one JSON value with nothing after it.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return badBody("Malformed request body: %v", err)
	}
	if d.More() {
		return badBody("Malformed request body: data after the JSON value")
	}
	return nil
}

// done reports the first error, or the attributes nobody asked for
// (Neutron's "Unrecognized attribute(s)").
func (a *attrs) done() error {
	if a.err != nil {
		return a.err
	}
	var extra []string
	for k := range a.raw {
		if !a.used[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return badBody("Unrecognized attribute(s) '%s'", strings.Join(extra, ", "))
	}
	return nil
}

func (a *attrs) fail(key, format string, args ...any) {
	if a.err == nil {
		a.err = badBody("Invalid input for %s. Reason: %s.", key, fmt.Sprintf(format, args...))
	}
}

// get returns the raw value of key (ok false when absent) and marks it
// used; isNull reports a JSON null.
func (a *attrs) get(key string) (json.RawMessage, bool) {
	v, ok := a.raw[key]
	if ok {
		a.used[key] = true
	}
	return v, ok
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// ignore accepts keys a client sends that change nothing here.
func (a *attrs) ignore(keys ...string) {
	for _, k := range keys {
		a.get(k)
	}
}

func (a *attrs) str(key string) *string {
	v, ok := a.get(key)
	if !ok {
		return nil
	}
	var s string
	if isNull(v) {
		return &s
	}
	if err := json.Unmarshal(v, &s); err != nil {
		a.fail(key, "'%s' is not a valid string", v)
		return nil
	}
	if len(s) > 255 {
		a.fail(key, "'%s' exceeds maximum length of 255", s[:32]+"...")
		return nil
	}
	return &s
}

func (a *attrs) boolean(key string) *bool {
	v, ok := a.get(key)
	if !ok {
		return nil
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return &b
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		switch strings.ToLower(s) {
		case "true", "1":
			return ptr(true)
		case "false", "0":
			return ptr(false)
		}
	}
	a.fail(key, "'%s' cannot be converted to boolean", v)
	return nil
}

func (a *attrs) integer(key string) *int {
	v, ok := a.get(key)
	if !ok || isNull(v) {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			a.fail(key, "'%s' is not an integer", v)
			return nil
		}
		n = json.Number(s)
	}
	i, err := strconv.Atoi(n.String())
	if err != nil || i < -1<<31 || i > 1<<31 {
		a.fail(key, "'%s' is not an integer", v)
		return nil
	}
	return &i
}

func (a *attrs) id(key string) *topology.ID {
	s := a.str(key)
	if s == nil {
		return nil
	}
	id, err := parseID(*s)
	if err != nil {
		a.fail(key, "'%s' is not a valid UUID", *s)
		return nil
	}
	return &id
}

// optID is an ID that may be null (the zero ID).
func (a *attrs) optID(key string) *topology.ID {
	v, ok := a.raw[key]
	if ok && isNull(v) {
		a.used[key] = true
		return &topology.ID{}
	}
	return a.id(key)
}

func (a *attrs) ids(key string, limit int) *[]topology.ID {
	var ss []string
	if !a.list(key, &ss, limit) {
		return nil
	}
	out := []topology.ID{}
	for _, s := range ss {
		id, err := parseID(s)
		if err != nil {
			a.fail(key, "'%s' is not a valid UUID", s)
			return nil
		}
		out = append(out, id)
	}
	return &out
}

// list decodes a JSON array (null: empty) of at most limit elements into
// out; false when absent or bad.
func (a *attrs) list(key string, out any, limit int) bool {
	v, ok := a.get(key)
	if !ok {
		return false
	}
	if isNull(v) {
		v = json.RawMessage("[]")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		a.fail(key, "'%s' is not a list", v)
		return false
	}
	if len(elems) > limit {
		a.fail(key, "more than %d elements", limit)
		return false
	}
	if err := json.Unmarshal(v, out); err != nil {
		a.fail(key, "%v", err)
		return false
	}
	return true
}

func (a *attrs) addr(key string, s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		a.fail(key, "'%s' is not a valid IP address", s)
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// optAddr is an address that may be null (the zero Addr).
func (a *attrs) optAddr(key string) *netip.Addr {
	v, ok := a.raw[key]
	if ok && isNull(v) {
		a.used[key] = true
		return &netip.Addr{}
	}
	s := a.str(key)
	if s == nil {
		return nil
	}
	ip, ok := a.addr(key, *s)
	if !ok {
		return nil
	}
	return &ip
}

func (a *attrs) prefix(key string, s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		ip, err2 := netip.ParseAddr(s)
		if err2 != nil || ip.Zone() != "" {
			a.fail(key, "'%s' is not a valid IP subnet", s)
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			a.fail(key, "'%s' is not a valid IP subnet", s)
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, true
}

func (a *attrs) cidr(key string) *netip.Prefix {
	s := a.str(key)
	if s == nil {
		return nil
	}
	p, ok := a.prefix(key, *s)
	if !ok {
		return nil
	}
	return &p
}

func (a *attrs) mac(key string, s string) (topology.MAC, bool) {
	m, err := topology.ParseMAC(s)
	if err != nil {
		a.fail(key, "'%s' is not a valid MAC address", s)
		return topology.MAC{}, false
	}
	return m, true
}

// dict is a JSON object (null: empty), kept raw.
func (a *attrs) dict(key string) *json.RawMessage {
	v, ok := a.get(key)
	if !ok {
		return nil
	}
	if isNull(v) {
		return &json.RawMessage{}
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		a.fail(key, "'%s' is not a dictionary", v)
		return nil
	}
	if len(v) > maxProfile {
		a.fail(key, "larger than %d bytes", maxProfile)
		return nil
	}
	c := json.RawMessage(slices.Clone(v))
	return &c
}

func parseID(s string) (topology.ID, error) { return topology.ParseID(strings.ToLower(s)) }

func ptr[T any](v T) *T { return &v }

// fixedIPs decodes a port's fixed_ips: [{"subnet_id": ..., "ip_address": ...}].
func (a *attrs) fixedIPs(key string) *[]neutron.IPRequest {
	var raw []map[string]string
	if !a.list(key, &raw, maxFixedIPs) {
		return nil
	}
	out := []neutron.IPRequest{}
	for _, e := range raw {
		var r neutron.IPRequest
		for k, v := range e {
			if v == "" {
				continue // null
			}
			switch k {
			case "subnet_id":
				id, err := parseID(v)
				if err != nil {
					a.fail(key, "'%s' is not a valid UUID", v)
					return nil
				}
				r.SubnetID = id
			case "ip_address":
				ip, ok := a.addr(key, v)
				if !ok {
					return nil
				}
				r.Addr = ip
			default:
				a.fail(key, "unknown key '%s' in fixed_ips", k)
				return nil
			}
		}
		out = append(out, r)
	}
	return &out
}
