package vtep

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// ErrBadRow reports a row whose column does not hold what the
// hardware_vtep schema says it holds (or an unparsable address).
var ErrBadRow = errors.New("vtep: malformed row")

// Column readers. A missing column reads as its default (rows of a monitor
// that covers only some columns lack the others); a column of the wrong
// type is an error wrapping ErrBadRow. A lone atom is read as a
// one-element set, so rows decoded without a schema read the same.

func badColumn(col string, v any, want string) error {
	return fmt.Errorf("%w: column %s holds %T, want %s", ErrBadRow, col, v, want)
}

func getString(r ovsdb.Row, col string) (string, error) {
	v, ok := r[col]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badColumn(col, v, "string")
	}
	return s, nil
}

func getUUID(r ovsdb.Row, col string) (ovsdb.UUID, error) {
	v, ok := r[col]
	if !ok {
		return "", nil
	}
	u, ok := v.(ovsdb.UUID)
	if !ok {
		return "", badColumn(col, v, "uuid")
	}
	return u, nil
}

// setOf returns the elements of a set column (a lone atom is one element).
func setOf(r ovsdb.Row, col string) (ovsdb.Set, bool) {
	switch v := r[col].(type) {
	case nil:
		return nil, true
	case ovsdb.Set:
		return v, true
	case ovsdb.Map:
		return nil, false
	default:
		return ovsdb.Set{v}, true
	}
}

func getUUIDSet(r ovsdb.Row, col string) ([]ovsdb.UUID, error) {
	s, ok := setOf(r, col)
	if !ok {
		return nil, badColumn(col, r[col], "set of uuids")
	}
	out := make([]ovsdb.UUID, 0, len(s))
	for _, e := range s {
		u, ok := e.(ovsdb.UUID)
		if !ok {
			return nil, badColumn(col, e, "uuid")
		}
		out = append(out, u)
	}
	return out, nil
}

func getStringSet(r ovsdb.Row, col string) ([]string, error) {
	s, ok := setOf(r, col)
	if !ok {
		return nil, badColumn(col, r[col], "set of strings")
	}
	out := make([]string, 0, len(s))
	for _, e := range s {
		str, ok := e.(string)
		if !ok {
			return nil, badColumn(col, e, "string")
		}
		out = append(out, str)
	}
	return out, nil
}

// getOptionalInt reads an integer column of at most one element.
func getOptionalInt(r ovsdb.Row, col string) (int64, bool, error) {
	s, ok := setOf(r, col)
	if !ok || len(s) > 1 {
		return 0, false, badColumn(col, r[col], "optional integer")
	}
	if len(s) == 0 {
		return 0, false, nil
	}
	n, ok := s[0].(int64)
	if !ok {
		return 0, false, badColumn(col, s[0], "integer")
	}
	return n, true, nil
}

// getOptionalString reads a string column of at most one element.
func getOptionalString(r ovsdb.Row, col string) (string, error) {
	s, err := getStringSet(r, col)
	if err != nil || len(s) > 1 {
		return "", badColumn(col, r[col], "optional string")
	}
	if len(s) == 0 {
		return "", nil
	}
	return s[0], nil
}

func getStringMap(r ovsdb.Row, col string) (map[string]string, error) {
	m, ok := r[col].(ovsdb.Map)
	if !ok {
		if s, isSet := r[col].(ovsdb.Set); r[col] == nil || isSet && len(s) == 0 {
			return map[string]string{}, nil
		}
		return nil, badColumn(col, r[col], "map of strings")
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		if !ok1 || !ok2 {
			return nil, badColumn(col, m, "map of strings")
		}
		out[ks] = vs
	}
	return out, nil
}

// getVLANMap reads a map from VLAN ids (0-4095) to uuids.
func getVLANMap(r ovsdb.Row, col string) (map[uint16]ovsdb.UUID, error) {
	m, ok := r[col].(ovsdb.Map)
	if !ok {
		if s, isSet := r[col].(ovsdb.Set); r[col] == nil || isSet && len(s) == 0 {
			return map[uint16]ovsdb.UUID{}, nil
		}
		return nil, badColumn(col, r[col], "map of vlan to uuid")
	}
	out := make(map[uint16]ovsdb.UUID, len(m))
	for k, v := range m {
		vlan, ok1 := k.(int64)
		u, ok2 := v.(ovsdb.UUID)
		if !ok1 || !ok2 || vlan < 0 || vlan > 4095 {
			return nil, badColumn(col, m, "map of vlan to uuid")
		}
		out[uint16(vlan)] = u
	}
	return out, nil
}

// getAddr reads a string column holding an IP address; "" is the zero
// Addr.
func getAddr(r ovsdb.Row, col string) (netip.Addr, error) {
	s, err := getString(r, col)
	if err != nil || s == "" {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: column %s: %v", ErrBadRow, col, err)
	}
	return a, nil
}

func getAddrSet(r ovsdb.Row, col string) ([]netip.Addr, error) {
	ss, err := getStringSet(r, col)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ss))
	for _, s := range ss {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: column %s: %v", ErrBadRow, col, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Writers: Go values to column values.

func uuidSet(us []ovsdb.UUID) ovsdb.Set {
	s := make(ovsdb.Set, len(us))
	for i, u := range us {
		s[i] = u
	}
	return s
}

func stringMap(m map[string]string) ovsdb.Map {
	out := make(ovsdb.Map, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func addrSet(as []netip.Addr) ovsdb.Set {
	s := make(ovsdb.Set, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return s
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func optionalInt(n int64, ok bool) ovsdb.Set {
	if !ok {
		return ovsdb.Set{}
	}
	return ovsdb.Set{n}
}

// errs returns the first non-nil error.
func errs(list ...error) error {
	for _, e := range list {
		if e != nil {
			return e
		}
	}
	return nil
}
