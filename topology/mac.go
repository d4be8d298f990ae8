package topology

import (
	"errors"
	"fmt"
)

// MAC is an IEEE 802 MAC-48 address: a comparable 6-byte value. The zero MAC
// (00:00:00:00:00:00) means "unset" wherever an optional MAC is expected.
type MAC [6]byte

// ErrBadMAC is wrapped by the errors ParseMAC returns.
var ErrBadMAC = errors.New("topology: malformed MAC address")

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether the group bit of m is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// IsUnicast reports whether m is a non-zero individual address.
func (m MAC) IsUnicast() bool { return !m.IsMulticast() && !m.IsZero() }

const hexDigits = "0123456789abcdef"

// String formats m as six colon-separated lower-case hexadecimal octets.
func (m MAC) String() string {
	var b [17]byte
	m.encode(b[:])
	return string(b[:])
}

func (m MAC) encode(b []byte) {
	for i, o := range m {
		b[i*3] = hexDigits[o>>4]
		b[i*3+1] = hexDigits[o&0xf]
		if i < 5 {
			b[i*3+2] = ':'
		}
	}
}

// AppendText appends the text form of m to b.
func (m MAC) AppendText(b []byte) ([]byte, error) {
	n := len(b)
	b = append(b, make([]byte, 17)...)
	m.encode(b[n:])
	return b, nil
}

// MarshalText implements encoding.TextMarshaler.
func (m MAC) MarshalText() ([]byte, error) { return m.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *MAC) UnmarshalText(b []byte) error {
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMAC parses six hexadecimal octets separated by ':' or '-'.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return MAC{}, fmt.Errorf("%w: %q is not of the form aa:bb:cc:dd:ee:ff", ErrBadMAC, s)
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return MAC{}, fmt.Errorf("%w: %q is not of the form aa:bb:cc:dd:ee:ff", ErrBadMAC, s)
	}
	for i := range 6 {
		if i < 5 && s[i*3+2] != sep {
			return MAC{}, fmt.Errorf("%w: %q mixes separators", ErrBadMAC, s)
		}
		hi, ok1 := fromHex(s[i*3])
		lo, ok2 := fromHex(s[i*3+1])
		if !ok1 || !ok2 {
			return MAC{}, fmt.Errorf("%w: %q has a non-hexadecimal digit", ErrBadMAC, s)
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

// MustParseMAC is ParseMAC for literals; it panics on malformed input.
func MustParseMAC(s string) MAC {
	m, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}
