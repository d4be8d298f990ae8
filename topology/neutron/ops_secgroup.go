package neutron

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/topology"
)

// DefaultGroupName is the name of the security group Neutron makes for
// each project, the one ports get when they ask for none.
const DefaultGroupName = "default"

// Protocols Neutron names; other protocols are given by number.
var protocols = map[string]uint8{
	"icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
	"ospf": 89, "pgm": 113, "vrrp": 112, "sctp": 132, "udplite": 136, "dccp": 33,
}

// ProtocolName returns Neutron's name of an IP protocol, or its number.
func ProtocolName(p uint8) string {
	for n, v := range protocols {
		if v == p {
			return n
		}
	}
	return strconv.Itoa(int(p))
}

// portProtocols are the protocols whose rules may give a port range.
var portProtocols = []uint8{6, 17, 33, 132, 136}

// CreateSecurityGroup adds a security group with ID id and Neutron's two
// default rules: everything out, over IPv4 and IPv6.
func (m *Model) CreateSecurityGroup(id topology.ID, f SecurityGroupFields) (*SecurityGroup, error) {
	if _, dup := m.SecurityGroups[id]; dup || id.IsZero() {
		return nil, conflict("SecurityGroupExists", "Security group %s already exists.", id)
	}
	g := &SecurityGroup{ID: id, Name: strOr(f.Name, ""), Description: strOr(f.Description, ""), ProjectID: strOr(f.ProjectID, "")}
	m.SecurityGroups[id] = g
	for _, et := range []string{IPv4, IPv6} {
		r := &SecurityGroupRule{ID: m.newID(), GroupID: id, ProjectID: g.ProjectID, Direction: Egress, EtherType: et}
		m.Rules[r.ID] = r
	}
	return g, nil
}

// DefaultGroup returns the project's default security group, if it has
// one.
func (m *Model) DefaultGroup(project string) (*SecurityGroup, bool) {
	for _, g := range m.SortedSecurityGroups() {
		if g.Name == DefaultGroupName && g.ProjectID == project {
			return g, true
		}
	}
	return nil, false
}

// EnsureDefaultGroup returns the project's default security group, making
// it if it does not exist (Neutron makes it when a project first lists its
// groups or makes a port).
func (m *Model) EnsureDefaultGroup(project string) *SecurityGroup { return m.defaultGroup(project) }

// defaultGroup returns the project's default security group, making it
// (with Neutron's rules: everything out, and in from the group's own
// members) if it does not exist.
func (m *Model) defaultGroup(project string) *SecurityGroup {
	for _, g := range m.SortedSecurityGroups() {
		if g.Name == DefaultGroupName && g.ProjectID == project {
			return g
		}
	}
	name, desc := DefaultGroupName, "Default security group"
	g, _ := m.CreateSecurityGroup(m.newID(), SecurityGroupFields{Name: &name, Description: &desc, ProjectID: &project})
	for _, et := range []string{IPv4, IPv6} {
		r := &SecurityGroupRule{ID: m.newID(), GroupID: g.ID, ProjectID: project, Direction: Ingress, EtherType: et, RemoteGroup: g.ID}
		m.Rules[r.ID] = r
	}
	return g
}

// SecurityGroup returns the group with that ID, or a
// SecurityGroupNotFound error.
func (m *Model) SecurityGroup(id topology.ID) (*SecurityGroup, error) {
	if g, ok := m.SecurityGroups[id]; ok {
		return g, nil
	}
	return nil, notFound("SecurityGroupNotFound", "Security group %s does not exist", id)
}

// UpdateSecurityGroup changes the name and description.
func (m *Model) UpdateSecurityGroup(id topology.ID, f SecurityGroupFields) (*SecurityGroup, error) {
	g, err := m.SecurityGroup(id)
	if err != nil {
		return nil, err
	}
	g.Name = strOr(f.Name, g.Name)
	g.Description = strOr(f.Description, g.Description)
	return g, nil
}

// DeleteSecurityGroup deletes a group no port uses, with its rules and
// the other groups' rules that name it as their remote group.
func (m *Model) DeleteSecurityGroup(id topology.ID) error {
	if _, err := m.SecurityGroup(id); err != nil {
		return err
	}
	for _, p := range m.SortedPorts() {
		if slices.Contains(p.SecurityGroups, id) {
			return conflict("SecurityGroupInUse", "Security Group %s in use.", id)
		}
	}
	for rid, r := range m.Rules {
		if r.GroupID == id || r.RemoteGroup == id {
			delete(m.Rules, rid)
		}
	}
	delete(m.SecurityGroups, id)
	return nil
}

// CreateRule adds a security group rule with ID id.
func (m *Model) CreateRule(id topology.ID, f RuleFields) (*SecurityGroupRule, error) {
	if _, dup := m.Rules[id]; dup || id.IsZero() {
		return nil, conflict("SecurityGroupRuleExists", "Security group rule %s already exists.", id)
	}
	if f.GroupID == nil {
		return nil, badRequest("Failed to parse request. Required attribute 'security_group_id' not specified")
	}
	g, err := m.SecurityGroup(*f.GroupID)
	if err != nil {
		return nil, err
	}
	r := &SecurityGroupRule{ID: id, GroupID: g.ID, ProjectID: strOr(f.ProjectID, g.ProjectID), Description: strOr(f.Description, ""),
		Direction: strOr(f.Direction, ""), EtherType: strOr(f.EtherType, IPv4)}
	if r.Direction != Ingress && r.Direction != Egress {
		return nil, invalidInput("'%s' is not in ['ingress', 'egress'].", r.Direction)
	}
	if r.EtherType != IPv4 && r.EtherType != IPv6 {
		return nil, invalidInput("'%s' is not in ['IPv4', 'IPv6'].", r.EtherType)
	}
	if err := r.setProtocol(f); err != nil {
		return nil, err
	}
	if f.RemotePrefix != nil && f.RemoteGroup != nil {
		return nil, badRequest("Only remote_ip_prefix or remote_group_id may be provided.")
	}
	if f.RemotePrefix != nil {
		pfx := f.RemotePrefix.Masked()
		if pfx.Addr().Is4() != (r.EtherType == IPv4) {
			return nil, badRequest("Conflicting value ethertype %s for CIDR %s", r.EtherType, pfx)
		}
		r.RemotePrefix = pfx
	}
	if f.RemoteGroup != nil {
		if _, err := m.SecurityGroup(*f.RemoteGroup); err != nil {
			return nil, err
		}
		r.RemoteGroup = *f.RemoteGroup
	}
	for _, o := range m.RulesOf(g.ID) {
		if o.same(r) {
			return nil, conflict("SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", o.ID)
		}
	}
	m.Rules[id] = r
	return r, nil
}

// setProtocol sets the protocol and port range of a new rule.
func (r *SecurityGroupRule) setProtocol(f RuleFields) error {
	if f.Protocol != nil && *f.Protocol != "" && !strings.EqualFold(*f.Protocol, "any") {
		name := strings.ToLower(*f.Protocol)
		p, ok := protocols[name]
		if name == "ipv6-icmp" || name == "icmpv6" {
			p, ok = 58, true
		}
		if !ok {
			n, err := strconv.Atoi(name)
			if err != nil || n < 0 || n > 255 {
				return &Error{Class: ErrBadRequest, Type: "SecurityGroupRuleInvalidProtocol",
					Message: "Security group rule protocol " + *f.Protocol + " not supported. Only protocol values [None, tcp, udp, icmp, ...] and integer representations [0 to 255] are supported."}
			}
			p = uint8(n)
		}
		r.Protocol = &p
	}
	if f.PortMin == nil && f.PortMax == nil {
		return nil
	}
	if r.Protocol == nil {
		return badRequest("Must also specify protocol if port range is given.")
	}
	in := func(v *int, hi int) (*uint16, bool) {
		if v == nil {
			return nil, true
		}
		if *v < 0 || *v > hi {
			return nil, false
		}
		x := uint16(*v)
		return &x, true
	}
	switch {
	case *r.Protocol == 1 || *r.Protocol == 58:
		if f.PortMin == nil {
			return badRequest("ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *f.PortMax)
		}
		var ok1, ok2 bool
		r.PortMin, ok1 = in(f.PortMin, 255)
		r.PortMax, ok2 = in(f.PortMax, 255)
		if !ok1 || !ok2 {
			return badRequest("Invalid value for ICMP type or code: it must be 0 to 255.")
		}
	case slices.Contains(portProtocols, *r.Protocol):
		lo, hi := f.PortMin, f.PortMax
		if lo == nil {
			return badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max")
		}
		if hi == nil {
			hi = lo
		}
		var ok1, ok2 bool
		r.PortMin, ok1 = in(lo, 65535)
		r.PortMax, ok2 = in(hi, 65535)
		if !ok1 || !ok2 || *lo < 1 || *hi < *lo {
			return badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max and within 1-65535")
		}
	default:
		return badRequest("Invalid protocol %s for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.", ProtocolName(*r.Protocol))
	}
	return nil
}

func (r *SecurityGroupRule) same(o *SecurityGroupRule) bool {
	eq := func(a, b *uint16) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	eq8 := func(a, b *uint8) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	anyPrefix := func(p netip.Prefix) netip.Prefix {
		if p.IsValid() && p.Bits() == 0 {
			return netip.Prefix{}
		}
		return p
	}
	return r.Direction == o.Direction && r.EtherType == o.EtherType && eq8(r.Protocol, o.Protocol) &&
		eq(r.PortMin, o.PortMin) && eq(r.PortMax, o.PortMax) && anyPrefix(r.RemotePrefix) == anyPrefix(o.RemotePrefix) &&
		r.RemoteGroup == o.RemoteGroup
}

// DeleteRule deletes a security group rule.
func (m *Model) DeleteRule(id topology.ID) error {
	if _, ok := m.Rules[id]; !ok {
		return notFound("SecurityGroupRuleNotFound", "Security group rule %s does not exist", id)
	}
	delete(m.Rules, id)
	return nil
}
