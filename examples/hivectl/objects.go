package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The object commands: list, get, create, set and delete, on every kind
// the API serves, by name (or UUID).

func listFlags(*flag.FlagSet) func(*env) error {
	return func(e *env) error {
		if err := e.need(1, 1); err != nil {
			return err
		}
		return e.show(e.args[0], nil)
	}
}

func getFlags(fs *flag.FlagSet) func(*env) error {
	watch := fs.Bool("w", false, "after the objects, print each change as it happens (until interrupted)")
	return func(e *env) error {
		if err := e.need(1, -1); err != nil {
			return err
		}
		if *watch {
			if len(e.args) > 1 {
				return fmt.Errorf("%w: -w follows a whole kind: give no names", errUsage)
			}
			return e.watch(e.args[0])
		}
		return e.show(e.args[0], e.args[1:])
	}
}

// show prints the objects of a kind: those named, or all.
func (e *env) show(kindName string, names []string) error {
	k, err := kindNamed(kindName)
	if err != nil {
		return err
	}
	var docs [][]byte
	if len(names) == 0 {
		items, err := e.c.list(e.ctx, "/v1/"+k.coll)
		if err != nil {
			return err
		}
		for _, it := range items {
			docs = append(docs, it)
		}
		sortByName(docs)
	} else {
		for _, n := range names {
			r, err := e.c.get(e.ctx, pathOf(k.coll, n))
			if err != nil {
				return fmt.Errorf("%s %s: %w", k.one, n, err)
			}
			docs = append(docs, r.body)
		}
	}
	return e.printObjects(k, docs, len(names) != 1)
}

// printObjects prints API objects of kind k in the output format.
func (e *env) printObjects(k *kind, docs [][]byte, list bool) error {
	p := e.printer()
	switch e.g.output {
	case "json", "yaml":
		return p.document(k, docs, list)
	}
	objs := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		o, err := decodeObject(d)
		if err != nil {
			return err
		}
		objs = append(objs, o)
	}
	if e.g.output == "name" {
		for _, o := range objs {
			n := str(o["name"])
			if !k.named || n == "" || e.g.ids {
				n = str(o["id"])
			}
			fmt.Fprintln(e.stdout, n)
		}
		return nil
	}
	return p.objectTable(k, objs)
}

func createFlags(fs *flag.FlagSet) func(*env) error {
	file := fs.String("f", "", "the object as a JSON or YAML `FILE` (\"-\" for standard input)")
	return func(e *env) error {
		if err := e.need(1, -1); err != nil {
			return err
		}
		k, err := kindNamed(e.args[0])
		if err != nil {
			return err
		}
		obj := map[string]any{}
		if *file != "" {
			if obj, err = readObjectFile(*file, e.stdin); err != nil {
				return err
			}
		}
		rest := e.args[1:]
		if len(rest) > 0 && !strings.ContainsAny(rest[0], "=") {
			if !k.named {
				return fmt.Errorf("%w: %s objects have no name: give keys only", errUsage, k.coll)
			}
			obj["name"] = rest[0]
			rest = rest[1:]
		}
		if err := setKeys(obj, rest); err != nil {
			return err
		}
		body, _ := json.Marshal(obj)
		r, err := e.c.do(e.ctx, request{method: http.MethodPost, path: "/v1/" + k.coll, body: body})
		if err != nil {
			return err
		}
		return e.done("created", k, r.body)
	}
}

// done reports a write: the object's kind, name and ID, or the object
// itself with -o.
func (e *env) done(what string, k *kind, body []byte) error {
	if e.g.output != "" && e.g.output != "table" {
		return e.printObjects(k, [][]byte{body}, false)
	}
	o, err := decodeObject(body)
	if err != nil {
		return err
	}
	name := str(o["name"])
	if name == "" {
		name = str(o["id"])
	} else if e.g.ids {
		name += " (" + str(o["id"]) + ")"
	}
	_, err = fmt.Fprintf(e.stdout, "%s %s %s\n", what, k.one, name)
	return err
}

func setFlags(*flag.FlagSet) func(*env) error {
	return func(e *env) error {
		if err := e.need(3, -1); err != nil {
			return err
		}
		k, err := kindNamed(e.args[0])
		if err != nil {
			return err
		}
		path := pathOf(k.coll, e.args[1])
		r, err := e.c.get(e.ctx, path)
		if err != nil {
			return err
		}
		obj, err := decodeObject(r.body)
		if err != nil {
			return err
		}
		if err := setKeys(obj, e.args[2:]); err != nil {
			return err
		}
		body, _ := json.Marshal(obj)
		// If-Match: a write made since the read fails rather than being
		// overwritten.
		r, err = e.c.do(e.ctx, request{method: http.MethodPut, path: path, body: body,
			header: map[string]string{"If-Match": r.header.Get("ETag")}})
		if err != nil {
			return err
		}
		return e.done("updated", k, r.body)
	}
}

func deleteFlags(*flag.FlagSet) func(*env) error {
	return func(e *env) error {
		if err := e.need(2, -1); err != nil {
			return err
		}
		k, err := kindNamed(e.args[0])
		if err != nil {
			return err
		}
		var failed error
		for _, n := range e.args[1:] {
			if _, err := e.c.do(e.ctx, request{method: http.MethodDelete, path: pathOf(k.coll, n)}); err != nil {
				fmt.Fprintf(e.stderr, "hivectl delete: %s %s: %v\n", k.one, n, err)
				failed = fmt.Errorf("%w: not every object was deleted", errAPI)
				continue
			}
			fmt.Fprintf(e.stdout, "deleted %s %s\n", k.one, n)
		}
		return failed
	}
}

// setKeys applies key=value (a string), key:=json (any JSON value) and
// key= (remove the key) to obj.
func setKeys(obj map[string]any, kvs []string) error {
	for _, kv := range kvs {
		if k, v, ok := strings.Cut(kv, ":="); ok && !strings.Contains(k, "=") {
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return fmt.Errorf("%w: %s: the value after := is JSON: %v", errUsage, kv, err)
			}
			obj[k] = x
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%w: %q: want key=value, key:=json or key=", errUsage, kv)
		}
		if v == "" {
			delete(obj, k)
		} else {
			obj[k] = v
		}
	}
	return nil
}

// readObjectFile reads one object from a JSON or YAML file.
func readObjectFile(path string, stdin io.Reader) (map[string]any, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: -f: %w", errUsage, err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: -f %s: %v", errUsage, path, err)
	}
	if obj == nil {
		obj = map[string]any{}
	}
	return obj, nil
}

// sortByName sorts objects by name, then ID (lists come in ID order).
func sortByName(docs [][]byte) {
	type keyed struct {
		Name, ID string
		doc      []byte
	}
	ks := make([]keyed, len(docs))
	for i, d := range docs {
		json.Unmarshal(d, &ks[i])
		ks[i].doc = d
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	for i := range ks {
		docs[i] = ks[i].doc
	}
}
