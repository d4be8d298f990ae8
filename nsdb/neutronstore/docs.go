package neutronstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// ErrCorrupt is wrapped by the errors about stored Neutron documents that
// do not decode.
var ErrCorrupt = errors.New("neutronstore: corrupt Neutron document")

// Resource types of the stored documents: Neutron's singular names, and
// the translation state.
const (
	resNetwork    = "network"
	resSubnet     = "subnet"
	resPort       = "port"
	resRouter     = "router"
	resFloatingIP = "floatingip"
	resGroup      = "security_group"
	resRule       = "security_group_rule"
	resState      = "translation"
)

// stateID is the ID of the translation state document: the Env the stored
// translation was made with. Every write updates it at the version it read,
// so writes of the model are serialized; it exists only while the model is
// not empty.
var stateID = topology.MustParseID("6e657574-726f-5e00-8000-737461746521")

// state is the translation state document.
type state struct {
	ProviderRouter topology.ID            `json:"provider_router,omitzero"`
	Hosts          map[string]topology.ID `json:"hosts,omitempty"`
}

func (s state) env() neutron.Env {
	return neutron.Env{ProviderRouter: s.ProviderRouter, Hosts: maps.Clone(s.Hosts)}
}

// stored is the model as read, with each document's version and bytes.
type stored struct {
	model    *neutron.Model
	state    state
	stateVer nsdb.Version // AnyVersion: no state document
	docs     map[topology.ID]docVersion
}

type docVersion struct {
	resource string
	doc      []byte
	version  nsdb.Version
}

// decode builds the model from the stored documents.
func decode(vs []nsdb.Versioned) (*stored, error) {
	st := &stored{model: neutron.NewModel(), docs: map[topology.ID]docVersion{}}
	for _, v := range vs {
		d, ok := v.Object.(*topology.NeutronDoc)
		if !ok {
			return nil, fmt.Errorf("%w: %T among the documents", ErrCorrupt, v.Object)
		}
		if err := st.add(d); err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrCorrupt, d.Resource, d.ID, err)
		}
		if d.ID == stateID {
			st.stateVer = v.Version
		} else {
			st.docs[d.ID] = docVersion{d.Resource, d.Doc, v.Version}
		}
	}
	return st, nil
}

func into[T any](m map[topology.ID]*T, d *topology.NeutronDoc, id func(*T) topology.ID) error {
	x := new(T)
	if err := json.Unmarshal(d.Doc, x); err != nil {
		return err
	}
	if id(x) != d.ID {
		return fmt.Errorf("document of %s stored under %s", id(x), d.ID)
	}
	m[d.ID] = x
	return nil
}

func (st *stored) add(d *topology.NeutronDoc) error {
	m := st.model
	switch d.Resource {
	case resNetwork:
		return into(m.Networks, d, func(x *neutron.Network) topology.ID { return x.ID })
	case resSubnet:
		return into(m.Subnets, d, func(x *neutron.Subnet) topology.ID { return x.ID })
	case resPort:
		return into(m.Ports, d, func(x *neutron.Port) topology.ID { return x.ID })
	case resRouter:
		return into(m.Routers, d, func(x *neutron.Router) topology.ID { return x.ID })
	case resFloatingIP:
		return into(m.FloatingIPs, d, func(x *neutron.FloatingIP) topology.ID { return x.ID })
	case resGroup:
		return into(m.SecurityGroups, d, func(x *neutron.SecurityGroup) topology.ID { return x.ID })
	case resRule:
		return into(m.Rules, d, func(x *neutron.SecurityGroupRule) topology.ID { return x.ID })
	case resState:
		if d.ID != stateID {
			return fmt.Errorf("translation state stored under %s", d.ID)
		}
		return json.Unmarshal(d.Doc, &st.state)
	}
	return fmt.Errorf("unknown resource type %q", d.Resource)
}

// encode returns the documents of a model, by ID.
func encode(m *neutron.Model) (map[topology.ID]*topology.NeutronDoc, error) {
	out := map[topology.ID]*topology.NeutronDoc{}
	var err error
	put := func(res string, id topology.ID, v any) {
		if err != nil {
			return
		}
		if _, dup := out[id]; dup || id == stateID {
			err = &neutron.Error{Class: neutron.ErrConflict, Type: "IDInUse",
				Message: fmt.Sprintf("ID %s of a %s is already in use.", id, res)}
			return
		}
		b, e := json.Marshal(v)
		if e != nil {
			err = e
			return
		}
		out[id] = &topology.NeutronDoc{ID: id, Resource: res, Doc: b}
	}
	for _, x := range m.SortedNetworks() {
		put(resNetwork, x.ID, x)
	}
	for _, x := range m.SortedSubnets() {
		put(resSubnet, x.ID, x)
	}
	for _, x := range m.SortedPorts() {
		put(resPort, x.ID, x)
	}
	for _, x := range m.SortedRouters() {
		put(resRouter, x.ID, x)
	}
	for _, x := range m.SortedFloatingIPs() {
		put(resFloatingIP, x.ID, x)
	}
	for _, x := range m.SortedSecurityGroups() {
		put(resGroup, x.ID, x)
	}
	for _, x := range m.SortedRules() {
		put(resRule, x.ID, x)
	}
	return out, err
}

// docOps returns the ops that turn the stored documents into next's: puts
// of new and changed documents, version-checked deletes of removed ones.
func docOps(st *stored, next map[topology.ID]*topology.NeutronDoc) []nsdb.Op {
	var ops []nsdb.Op
	ids := slices.SortedFunc(maps.Keys(next), func(a, b topology.ID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range ids {
		d := next[id]
		prev, ok := st.docs[id]
		switch {
		case !ok:
			ops = append(ops, nsdb.Create(d))
		case prev.resource != d.Resource || string(prev.doc) != string(d.Doc):
			ops = append(ops, nsdb.Update(d, prev.version))
		}
	}
	gone := slices.SortedFunc(maps.Keys(st.docs), func(a, b topology.ID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range gone {
		if _, ok := next[id]; !ok {
			ops = append(ops, nsdb.Delete(topology.KindNeutron, id, st.docs[id].version))
		}
	}
	return ops
}
