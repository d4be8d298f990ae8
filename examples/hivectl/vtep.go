package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/vxgw"
)

// The vtep command: the VxLAN gateway's side of a VTEP — its bindings of
// physical ports and VLANs to bridges, and its live status (the cluster
// node managing it, that node's OVSDB connection, the VTEP's tunnel
// addresses and flooding proxy) — through /v1/vteps/{id}/bindings and
// /v1/vteps/{id}/status. The VTEP itself is an object like any other
// (hivectl create vtep NAME management-ip=… tunnel-zone=…).

// vtepUsage lists the vtep command's subcommands.
const vtepUsage = `
subcommands:
  bind VTEP PORT VLAN BRIDGE  bind the VTEP's physical PORT and VLAN (0: untagged) to BRIDGE
  unbind VTEP PORT VLAN       remove that binding
  bindings VTEP               the VTEP's bindings: bridge, VNI, VxLAN port
  status [VTEP...]            connection, owner node, tunnel addresses, flooding proxy, bindings
                              (of every VTEP without names)
`

// vtepSubcommands are the vtep command's subcommands, in usage order.
var vtepSubcommands = []string{"bind", "unbind", "bindings", "status"}

func vtepFlags(*flag.FlagSet) func(*env) error {
	return func(e *env) error {
		if len(e.args) == 0 {
			e.fs.Usage()
			return fmt.Errorf("%w: vtep needs a subcommand: %s", errUsage, strings.Join(vtepSubcommands, ", "))
		}
		sub := e.args[0]
		e.args = e.args[1:]
		switch sub {
		case "bind":
			return e.vtepBind()
		case "unbind":
			return e.vtepUnbind()
		case "bindings":
			return e.vtepBindings()
		case "status":
			return e.vtepStatus()
		}
		return fmt.Errorf("%w: no vtep subcommand %q (want %s)", errUsage, sub, strings.Join(vtepSubcommands, ", "))
	}
}

// parseVLAN parses a VLAN id argument.
func parseVLAN(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n > 4095 {
		return 0, fmt.Errorf("%w: VLAN %q: want a number in 0-4095 (0: untagged)", errUsage, s)
	}
	return uint16(n), nil
}

// vtepBind binds VTEP PORT VLAN to BRIDGE.
func (e *env) vtepBind() error {
	if err := e.need(4, 4); err != nil {
		return err
	}
	vtep, port, bridge := e.args[0], e.args[1], e.args[3]
	vlan, err := parseVLAN(e.args[2])
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"port-name": port, "vlan": vlan, "bridge": bridge})
	r, err := e.c.do(e.ctx, request{method: http.MethodPost, path: pathOf("vteps", vtep) + "/bindings", body: body})
	if err != nil {
		return fmt.Errorf("vtep %s: %w", vtep, err)
	}
	if e.g.output != "" && e.g.output != "table" {
		return e.printBindings([][]byte{r.body}, false)
	}
	var b vxgw.Binding
	if err := json.Unmarshal(r.body, &b); err != nil {
		return fmt.Errorf("decoding the API's answer: %w", err)
	}
	what := fmt.Sprintf("bound vtep %s port %s vlan %d to bridge %s", vtep, b.PortName, b.VLAN, e.bridgeOf(b))
	if b.VNI != 0 {
		what += fmt.Sprintf(" (VNI %d)", b.VNI)
	}
	_, err = fmt.Fprintln(e.stdout, what)
	return err
}

// bridgeOf names a binding's bridge (its UUID too with --ids).
func (e *env) bridgeOf(b vxgw.Binding) string {
	name := cmp.Or(b.BridgeName, b.Bridge.String())
	if e.g.ids && b.BridgeName != "" {
		name += " (" + b.Bridge.String() + ")"
	}
	return name
}

// vtepUnbind removes the binding of VTEP PORT VLAN.
func (e *env) vtepUnbind() error {
	if err := e.need(3, 3); err != nil {
		return err
	}
	vtep, port := e.args[0], e.args[1]
	vlan, err := parseVLAN(e.args[2])
	if err != nil {
		return err
	}
	// The bridge, to say what was unbound (the DELETE answers nothing).
	bridge := ""
	if bs, _, err := e.bindingsOf(vtep); err == nil {
		for _, b := range bs {
			if b.PortName == port && b.VLAN == vlan {
				bridge = " from bridge " + e.bridgeOf(b)
			}
		}
	}
	path := pathOf("vteps", vtep) + "/bindings/" + url.PathEscape(port) + "/" + strconv.Itoa(int(vlan))
	if _, err := e.c.do(e.ctx, request{method: http.MethodDelete, path: path}); err != nil {
		return fmt.Errorf("vtep %s: %w", vtep, err)
	}
	_, err = fmt.Fprintf(e.stdout, "unbound vtep %s port %s vlan %d%s\n", vtep, port, vlan, bridge)
	return err
}

// bindingsOf reads a VTEP's bindings, decoded and as the API sent each.
func (e *env) bindingsOf(vtep string) ([]vxgw.Binding, [][]byte, error) {
	r, err := e.c.get(e.ctx, pathOf("vteps", vtep)+"/bindings")
	if err != nil {
		return nil, nil, fmt.Errorf("vtep %s: %w", vtep, err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		return nil, nil, fmt.Errorf("decoding the API's answer: %w", err)
	}
	bs := make([]vxgw.Binding, len(raw))
	docs := make([][]byte, len(raw))
	for i, x := range raw {
		if err := json.Unmarshal(x, &bs[i]); err != nil {
			return nil, nil, fmt.Errorf("decoding the API's answer: %w", err)
		}
		docs[i] = x
	}
	return bs, docs, nil
}

// vtepBindings prints a VTEP's bindings.
func (e *env) vtepBindings() error {
	if err := e.need(1, 1); err != nil {
		return err
	}
	bs, docs, err := e.bindingsOf(e.args[0])
	if err != nil {
		return err
	}
	switch e.g.output {
	case "json", "yaml":
		return e.printBindings(docs, true)
	case "name":
		// The physical ports, once each: what unbind takes first.
		var ports []string
		for _, b := range bs {
			if !slices.Contains(ports, b.PortName) {
				ports = append(ports, b.PortName)
				fmt.Fprintln(e.stdout, b.PortName)
			}
		}
		return nil
	}
	return e.bindingTable(bs)
}

// bindingTable writes bindings as a table: the VTEP's port and VLAN, the
// bridge, its VNI and its VxLAN port toward the VTEP (empty until the
// gateway made them).
func (e *env) bindingTable(bs []vxgw.Binding) error {
	rows := make([][]string, len(bs))
	for i, b := range bs {
		bridge, vni, port := cmp.Or(b.BridgeName, b.Bridge.String()), "", ""
		if e.g.ids {
			bridge = b.Bridge.String()
		}
		if b.VNI != 0 {
			vni = strconv.FormatUint(uint64(b.VNI), 10)
		}
		if !b.Port.IsZero() {
			port = b.Port.String()
			if !e.g.ids {
				port = e.c.nameOf(e.ctx, "ports", port)
			}
		}
		rows[i] = []string{b.PortName, strconv.Itoa(int(b.VLAN)), bridge, vni, port}
	}
	return e.printer().writeTable([]string{"PORT", "VLAN", "BRIDGE", "VNI", "VXLAN-PORT"}, rows)
}

// vtepStatus prints the gateway status of the VTEPs named, or of all.
func (e *env) vtepStatus() error {
	var sts []vxgw.Status
	var docs [][]byte
	if len(e.args) == 0 {
		var err error
		if sts, docs, err = listOf[vxgw.Status](e, "/v1/status/vteps"); err != nil {
			return err
		}
	}
	for _, n := range e.args {
		r, err := e.c.get(e.ctx, pathOf("vteps", n)+"/status")
		if err != nil {
			return fmt.Errorf("vtep %s: %w", n, err)
		}
		var st vxgw.Status
		if err := json.Unmarshal(r.body, &st); err != nil {
			return fmt.Errorf("decoding the API's answer: %w", err)
		}
		sts, docs = append(sts, st), append(docs, r.body)
	}
	if len(e.args) == 0 {
		sortByName(docs)
		slices.SortStableFunc(sts, func(a, b vxgw.Status) int { return strings.Compare(a.Name, b.Name) })
	}
	switch e.g.output {
	case "json", "yaml":
		return e.printStatus(docs, len(e.args) != 1)
	case "name":
		for _, st := range sts {
			fmt.Fprintln(e.stdout, e.nameOr(st.Name, st.ID.String()))
		}
		return nil
	}
	if err := e.statusTable(sts); err != nil {
		return err
	}
	if len(e.args) == 1 && len(sts[0].Bindings) > 0 {
		fmt.Fprintln(e.stdout)
		return e.bindingTable(sts[0].Bindings)
	}
	return nil
}

// statusTable writes one row per VTEP status; the optional columns empty
// in every row are left out.
func (e *env) statusTable(sts []vxgw.Status) error {
	header := []string{"NAME", "ID", "CONNECTION", "FOR", "OWNER", "ENDPOINT", "TUNNEL-IPS", "FLOODING-PROXY", "BINDINGS", "ERROR"}
	rows := make([][]string, len(sts))
	for i, st := range sts {
		owner, proxy := "(none)", "(none)"
		if !st.Owner.IsZero() {
			owner = e.nameOr(st.OwnerName, st.Owner.String())
		}
		if fp := st.FloodingProxy; fp != nil {
			proxy = e.nameOr(fp.HostName, fp.Host.String()) + "=" + fp.Addr.String()
		}
		since := ""
		if !st.Since.IsZero() {
			since = time.Since(st.Since).Round(time.Second).String()
		}
		ips := make([]string, len(st.TunnelIPs))
		for j, a := range st.TunnelIPs {
			ips[j] = a.String()
		}
		var bs []string
		for _, b := range st.Bindings {
			br := cmp.Or(b.BridgeName, b.Bridge.String())
			if e.g.ids {
				br = b.Bridge.String()
			}
			bs = append(bs, b.PortName+"/"+strconv.Itoa(int(b.VLAN))+"="+br)
		}
		id := ""
		if e.g.ids {
			id = st.ID.String()
		}
		rows[i] = []string{st.Name, id, string(st.Connection), since, owner, st.Endpoint, strings.Join(ips, ","), proxy,
			strings.Join(bs, ","), st.Error}
	}
	// NAME, CONNECTION, OWNER and FLOODING-PROXY always show.
	header, rows = dropEmptyColumns(header, rows, 0, 2, 4, 7)
	return e.printer().writeTable(header, rows)
}

// nameOr returns name, or id when there is no name or with --ids.
func (e *env) nameOr(name, id string) string {
	if e.g.ids || name == "" {
		return id
	}
	return name
}

// dropEmptyColumns removes the columns empty in every row, but for those
// at the indexes keep.
func dropEmptyColumns(header []string, rows [][]string, keep ...int) ([]string, [][]string) {
	for c := len(header) - 1; c >= 0; c-- {
		if slices.Contains(keep, c) || slices.ContainsFunc(rows, func(r []string) bool { return r[c] != "" }) {
			continue
		}
		header = slices.Delete(header, c, c+1)
		for i := range rows {
			rows[i] = slices.Delete(rows[i], c, c+1)
		}
	}
	return header, rows
}

// printBindings writes bindings as -o json or yaml says: by name (the
// bridge and its VxLAN port) unless --ids.
func (e *env) printBindings(docs [][]byte, list bool) error {
	return e.printer().documentFunc(docs, list, e.byName)
}

// printStatus writes VTEP statuses as -o json or yaml says: the VTEP, its
// owner, flooding proxy and bindings by name unless --ids.
func (e *env) printStatus(docs [][]byte, list bool) error {
	return e.printer().documentFunc(docs, list, func(n *yaml.Node) {
		if !e.g.ids {
			n.Content = dropKey(n.Content, "id")
		}
		e.byName(n)
	})
}

// byName rewrites, unless --ids, a gateway document (a status, a binding,
// or a part of one) to name what it refers to: the owner, a bridge and a
// flooding proxy's host take the name the API gives beside them (which
// then goes), a binding's VxLAN port takes the port's name.
func (e *env) byName(n *yaml.Node) {
	if e.g.ids {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			e.byName(c)
		}
		return
	case yaml.MappingNode:
	default:
		return
	}
	value := func(key string) *yaml.Node {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	for _, key := range []string{"owner", "bridge", "host"} {
		if val, name := value(key), value(key+"-name"); val != nil && name != nil {
			*val = *name
			n.Content = dropKey(n.Content, key+"-name")
		}
	}
	if val := value("port"); val != nil && value("port-name") != nil && val.Kind == yaml.ScalarNode {
		val.Value = e.c.nameOf(e.ctx, "ports", val.Value)
	}
	for i := 1; i < len(n.Content); i += 2 {
		e.byName(n.Content[i])
	}
}

// dropKey returns a mapping's content without key.
func dropKey(content []*yaml.Node, key string) []*yaml.Node {
	for i := 0; i+1 < len(content); i += 2 {
		if content[i].Value == key {
			return slices.Delete(content, i, i+2)
		}
	}
	return content
}
