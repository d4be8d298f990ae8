package zookeeper

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Object encoding: the JSON of the topology value type, with every
// zero-valued field left out (recursively, inside nested structs and slices
// of structs). IDs, MACs and netip values use their text forms. Decoding is
// plain encoding/json into topology.New(kind), so absent fields decode as
// their zero values and unknown fields are ignored.

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// errCorrupt marks stored bytes this package cannot decode.
var errCorrupt = errors.New("corrupt stored value")

// encodeObject returns the stored form of o.
func encodeObject(o topology.Object) ([]byte, error) {
	v := reflect.ValueOf(o)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, fmt.Errorf("%w: cannot encode %T", nsdb.ErrInvalid, o)
	}
	var b bytes.Buffer
	if err := appendCompact(&b, v.Elem()); err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", nsdb.ErrInvalid, o.ObjectKind(), err)
	}
	return b.Bytes(), nil
}

// marshalsItself reports whether values of t are encoded by their own
// MarshalJSON or MarshalText method.
func marshalsItself(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

func appendCompact(b *bytes.Buffer, v reflect.Value) error {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Struct && !marshalsItself(t):
		b.WriteByte('{')
		first := true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Errorf("field %s.%s is not exported", t, f.Name)
			}
			fv := v.Field(i)
			if fv.IsZero() {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteByte('"')
			b.WriteString(f.Name)
			b.WriteString(`":`)
			if err := appendCompact(b, fv); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && !marshalsItself(t.Elem()):
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendCompact(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	}
	if v.CanAddr() {
		v = v.Addr() // so that pointer-receiver marshalers apply
	}
	j, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	b.Write(j)
	return nil
}

// decodeObject decodes the stored form of an object of kind k that must have
// ID id. It never panics; bad input returns an error wrapping errCorrupt.
func decodeObject(k topology.Kind, id topology.ID, data []byte) (topology.Object, error) {
	o := topology.New(k)
	if o == nil {
		return nil, fmt.Errorf("%w: invalid kind %d", errCorrupt, k)
	}
	if err := json.Unmarshal(data, o); err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", errCorrupt, k, id, err)
	}
	if got := o.ObjectID(); got != id {
		return nil, fmt.Errorf("%w: %s stored at %s has ID %s", errCorrupt, k, id, got)
	}
	return o, nil
}

// Paths. Every path is below the client's root.

type paths struct {
	root      string
	models    string // <root>/models: data = commit tokens; version guards commits
	changelog string // <root>/changelog: what each commit wrote, by models version
	snapshot  string // <root>/snapshot: the object store at one version, in chunks
	state     string
	tables    string
	sequences string
	elections string
	secrets   string
}

func newPaths(root string) paths {
	return paths{
		root:      root,
		models:    root + "/models",
		changelog: root + "/changelog",
		snapshot:  root + "/snapshot",
		state:     root + "/state",
		tables:    root + "/tables",
		sequences: root + "/sequences",
		elections: root + "/elections",
		secrets:   root + "/secrets",
	}
}

func (p paths) kindDir(k topology.Kind) string { return p.models + "/" + k.String() }

func (p paths) object(k topology.Kind, id topology.ID) string {
	return p.models + "/" + k.String() + "/" + id.String()
}

func (p paths) stateKind(k topology.Kind) string { return p.state + "/" + k.String() }

func (p paths) stateObject(k topology.Kind, id topology.ID) string {
	return p.state + "/" + k.String() + "/" + id.String()
}

func (p paths) stateKey(spec nsdb.KeySpec, id topology.ID) string {
	return p.stateObject(spec.Kind, id) + "/" + spec.Name
}

func (p paths) table(k topology.Kind, id topology.ID, name string, arg string) string {
	s := p.tables + "/" + k.String() + "/" + id.String() + "/" + name
	if arg != "" {
		s += "/" + arg
	}
	return s
}

func (p paths) sequence(name string) string { return p.sequences + "/" + name }

func (p paths) election(name string) string { return p.elections + "/" + name }

// validRoot reports whether root is an absolute ZooKeeper path usable as the
// client's root.
func validRoot(root string) bool {
	if root == "" || root[0] != '/' || root == "/" || strings.HasSuffix(root, "/") || strings.Contains(root, "//") {
		return false
	}
	for _, c := range strings.Split(root[1:], "/") {
		if c == "." || c == ".." || c == "zookeeper" && strings.Count(root, "/") == 1 {
			return false
		}
		for _, r := range c {
			if r == 0 || r < 0x20 || r == 0x7f || (r >= 0xd800 && r <= 0xf8ff) || r >= 0xfff0 {
				return false
			}
		}
	}
	return true
}

// lastSegment returns the last element of a path.
func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Replicated state table entries are child nodes named
// "<key>,<value>,<version>", as in the reference system's tables: learned
// entries are ephemeral sequential nodes whose version is the 10-digit
// sequence ZooKeeper appends; persistent entries are persistent nodes with
// version persistentVersion.

// persistentVersion is the version of persistent (operator) table entries.
const persistentVersion = 2147483647

// entryName is a parsed table entry node name.
type entryName struct {
	key, value string
	version    int64
}

// parseEntryName parses a table entry node name. Keys and values contain no
// commas in any table encoding, so exactly three fields are required.
func parseEntryName(name string) (entryName, error) {
	k, rest, ok := strings.Cut(name, ",")
	if !ok {
		return entryName{}, fmt.Errorf("%w: table entry %q: want <key>,<value>,<version>", errCorrupt, name)
	}
	v, ver, ok := strings.Cut(rest, ",")
	if !ok || k == "" || strings.Contains(ver, ",") {
		return entryName{}, fmt.Errorf("%w: table entry %q: want <key>,<value>,<version>", errCorrupt, name)
	}
	if ver == "" || len(ver) > 10 {
		return entryName{}, fmt.Errorf("%w: table entry %q: bad version", errCorrupt, name)
	}
	for i := 0; i < len(ver); i++ {
		if ver[i] < '0' || ver[i] > '9' {
			return entryName{}, fmt.Errorf("%w: table entry %q: bad version", errCorrupt, name)
		}
	}
	n, err := strconv.ParseInt(ver, 10, 64)
	if err != nil || n > persistentVersion {
		return entryName{}, fmt.Errorf("%w: table entry %q: bad version", errCorrupt, name)
	}
	return entryName{key: k, value: v, version: n}, nil
}

// Candidates of an election are ephemeral sequential nodes named
// "c-<guid>-<sequence>"; the guid lets a client find its own node after a
// connection loss during the create.

const candidatePrefix = "c-"

// parseCandidate returns the guid and sequence of a candidate node name.
func parseCandidate(name string) (guid string, seq int64, ok bool) {
	rest, found := strings.CutPrefix(name, candidatePrefix)
	if !found {
		return "", 0, false
	}
	g, s, found := strings.Cut(rest, "-")
	if !found || len(s) != 10 || g == "" {
		return "", 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return g, n, true
}

// valueNode returns the node name of a KeyMultiple value: "v-" and the
// value, path-escaped (so that '/' and non-ASCII are safe and the names "."
// and ".." cannot occur). The node's data holds the value itself.
func valueNode(value string) string { return "v-" + url.PathEscape(value) }
