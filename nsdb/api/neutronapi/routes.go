package neutronapi

import (
	"encoding/json"
	"net/http"

	"github.com/hivenet/hivenet/nsdb/api"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// extensions are the Neutron API extensions served, by alias.
var extensions = map[string]string{
	"external-net":          "Neutron external network",
	"router":                "Neutron L3 Router",
	"ext-gw-mode":           "Neutron L3 Configurable external gateway mode",
	"extraroute":            "Neutron Extra Route",
	"security-group":        "security-group",
	"port-security":         "Port Security",
	"allowed-address-pairs": "Allowed Address Pairs",
	"binding":               "Port Binding",
}

// routes installs every route.
func (s *Server) routes() {
	(&resource[neutron.NetworkFields]{singular: "network", plural: "networks",
		all: viewsOf((*neutron.Model).SortedNetworks, networkView), find: finder((*neutron.Model).Network, networkView),
		decode: decodeNetwork,
		create: func(m *neutron.Model, id topology.ID, f neutron.NetworkFields) (view, error) {
			return viewOf(m, networkView)(m.CreateNetwork(id, f))
		},
		update: func(m *neutron.Model, id topology.ID, f neutron.NetworkFields) (view, error) {
			return viewOf(m, networkView)(m.UpdateNetwork(id, f))
		},
		del: (*neutron.Model).DeleteNetwork}).register(s)
	(&resource[neutron.SubnetFields]{singular: "subnet", plural: "subnets",
		all: viewsOf((*neutron.Model).SortedSubnets, subnetView), find: finder((*neutron.Model).Subnet, subnetView),
		decode: decodeSubnet,
		create: func(m *neutron.Model, id topology.ID, f neutron.SubnetFields) (view, error) {
			return viewOf(m, subnetView)(m.CreateSubnet(id, f))
		},
		update: func(m *neutron.Model, id topology.ID, f neutron.SubnetFields) (view, error) {
			return viewOf(m, subnetView)(m.UpdateSubnet(id, f))
		},
		del: (*neutron.Model).DeleteSubnet}).register(s)
	(&resource[neutron.PortFields]{singular: "port", plural: "ports",
		all: viewsOf((*neutron.Model).SortedPorts, portView), find: finder((*neutron.Model).Port, portView),
		decode: decodePort,
		create: func(m *neutron.Model, id topology.ID, f neutron.PortFields) (view, error) {
			return viewOf(m, portView)(m.CreatePort(id, f))
		},
		update: func(m *neutron.Model, id topology.ID, f neutron.PortFields) (view, error) {
			return viewOf(m, portView)(m.UpdatePort(id, f))
		},
		del: (*neutron.Model).DeletePort}).register(s)
	(&resource[neutron.RouterFields]{singular: "router", plural: "routers",
		all: viewsOf((*neutron.Model).SortedRouters, routerView), find: finder((*neutron.Model).Router, routerView),
		decode: decodeRouter,
		create: func(m *neutron.Model, id topology.ID, f neutron.RouterFields) (view, error) {
			return viewOf(m, routerView)(m.CreateRouter(id, f))
		},
		update: func(m *neutron.Model, id topology.ID, f neutron.RouterFields) (view, error) {
			return viewOf(m, routerView)(m.UpdateRouter(id, f))
		},
		del: (*neutron.Model).DeleteRouter}).register(s)
	(&resource[neutron.FloatingIPFields]{singular: "floatingip", plural: "floatingips",
		all: viewsOf((*neutron.Model).SortedFloatingIPs, floatingIPView), find: finder((*neutron.Model).FloatingIP, floatingIPView),
		decode: decodeFloatingIP,
		create: func(m *neutron.Model, id topology.ID, f neutron.FloatingIPFields) (view, error) {
			return viewOf(m, floatingIPView)(m.CreateFloatingIP(id, f))
		},
		update: func(m *neutron.Model, id topology.ID, f neutron.FloatingIPFields) (view, error) {
			return viewOf(m, floatingIPView)(m.UpdateFloatingIP(id, f))
		},
		del: (*neutron.Model).DeleteFloatingIP}).register(s)
	(&resource[neutron.SecurityGroupFields]{singular: "security_group", plural: "security_groups", path: "security-groups",
		all: viewsOf((*neutron.Model).SortedSecurityGroups, groupView), find: finder((*neutron.Model).SecurityGroup, groupView),
		decode: decodeSecurityGroup,
		create: func(m *neutron.Model, id topology.ID, f neutron.SecurityGroupFields) (view, error) {
			return viewOf(m, groupView)(m.CreateSecurityGroup(id, f))
		},
		update: func(m *neutron.Model, id topology.ID, f neutron.SecurityGroupFields) (view, error) {
			return viewOf(m, groupView)(m.UpdateSecurityGroup(id, f))
		},
		del: (*neutron.Model).DeleteSecurityGroup, beforeList: ensureDefaultGroup}).register(s)
	(&resource[neutron.RuleFields]{singular: "security_group_rule", plural: "security_group_rules", path: "security-group-rules",
		all: viewsOf((*neutron.Model).SortedRules, ruleView), find: finder(ruleOf, ruleView),
		decode: func(b []byte, _ bool) (neutron.RuleFields, error) { return decodeRule(b) },
		create: func(m *neutron.Model, id topology.ID, f neutron.RuleFields) (view, error) {
			return viewOf(m, ruleView)(m.CreateRule(id, f))
		},
		del: (*neutron.Model).DeleteRule}).register(s)
	s.handle("PUT /v2.0/routers/{id}/add_router_interface", true, routerInterface(true))
	s.handle("PUT /v2.0/routers/{id}/remove_router_interface", true, routerInterface(false))
	s.handle("GET /v2.0/extensions", false, listExtensions)
	s.handle("GET /v2.0/extensions/{alias}", false, showExtension)
	s.handle("/v2.0/", false, func(_ *Server, _ http.ResponseWriter, r *http.Request) error {
		return newError(http.StatusNotFound, "HTTPNotFound", "The resource could not be found: "+r.Method+" "+r.URL.Path)
	})
	s.keystoneRoutes()
}

// viewOf turns a model method's result into its view.
func viewOf[T any](m *neutron.Model, v func(*neutron.Model, *T) view) func(*T, error) (view, error) {
	return func(x *T, err error) (view, error) {
		if err != nil {
			return nil, err
		}
		return v(m, x), nil
	}
}

func ruleOf(m *neutron.Model, id topology.ID) (*neutron.SecurityGroupRule, error) {
	if r, ok := m.Rules[id]; ok {
		return r, nil
	}
	return nil, &neutron.Error{Class: neutron.ErrNotFound, Type: "SecurityGroupRuleNotFound", Message: "Security group rule " + id.String() + " does not exist"}
}

// routerInterface serves add_router_interface and remove_router_interface.
func routerInterface(add bool) handler {
	return func(s *Server, w http.ResponseWriter, r *http.Request) error {
		body, err := s.readBody(w, r)
		if err != nil {
			return err
		}
		subnet, port, err := decodeInterface(body)
		if err != nil {
			return err
		}
		router, err := parseID(r.PathValue("id"))
		if err != nil {
			return newError(http.StatusNotFound, "RouterNotFound", "Router "+r.PathValue("id")+" could not be found")
		}
		var info neutron.InterfaceInfo
		_, err = s.store.Update(r.Context(), func(m *neutron.Model) error {
			if add {
				info, err = m.AddInterface(router, subnet, port)
			} else {
				info, err = m.RemoveInterface(router, subnet, port)
			}
			return err
		})
		if err != nil {
			return err
		}
		s.logWrite(r, "router interface", info.PortID)
		b, err := json.Marshal(interfaceView(info))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}

func extensionView(alias string) view {
	return view{"alias": alias, "name": extensions[alias], "description": extensions[alias], "links": []string{}, "updated": "2013-01-01T10:00:00-00:00"}
}

func listExtensions(_ *Server, w http.ResponseWriter, _ *http.Request) error {
	vs := []view{}
	for a := range extensions {
		vs = append(vs, extensionView(a))
	}
	return writeBody(w, http.StatusOK, "extensions", vs)
}

func showExtension(_ *Server, w http.ResponseWriter, r *http.Request) error {
	a := r.PathValue("alias")
	if _, ok := extensions[a]; !ok {
		return newError(http.StatusNotFound, "HTTPNotFound", "Extension with alias "+a+" does not exist")
	}
	return writeBody(w, http.StatusOK, "extension", extensionView(a))
}

// ensureDefaultGroup makes the requester's project's default security
// group when it lists groups and has none, as Neutron does (admin tokens
// only: readers do not write).
func ensureDefaultGroup(s *Server, r *http.Request, m *neutron.Model) (*neutron.Model, error) {
	project := s.projectOf(r)
	if _, ok := m.DefaultGroup(project); ok || identityOf(r).Role != api.RoleAdmin {
		return m, nil
	}
	return s.store.Update(r.Context(), func(m *neutron.Model) error {
		m.EnsureDefaultGroup(project)
		return nil
	})
}
