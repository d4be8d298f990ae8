package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hivenet/hivenet/examples/topologies"
	"github.com/hivenet/hivenet/nsdb/api"
)

// Declarative topology: apply a topology file as the desired state of a
// scope (PUT /v1/topology), printing the changes as a diff; export a scope
// as a file.

func applyFlags(fs *flag.FlagSet) func(*env) error {
	file := fs.String("f", "", "the topology `FILE` (\"-\" for standard input, or an example's name: two-tenant-cloud)")
	dry := fs.Bool("dry-run", false, "print the changes and write nothing")
	scope := fs.String("scope", "", "the `scope` the file is the desired state of (default: every object)")
	return func(e *env) error {
		if err := e.need(0, 0); err != nil {
			return err
		}
		if *file == "" {
			e.fs.Usage()
			return fmt.Errorf("%w: -f FILE is required", errUsage)
		}
		data, err := readFile(*file, e.stdin)
		if err != nil {
			return err
		}
		q := url.Values{}
		if *scope != "" {
			q.Set("scope", *scope)
		}
		if *dry {
			q.Set("dry-run", "true")
		}
		path := "/v1/topology"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		r, err := e.c.do(e.ctx, request{method: http.MethodPut, path: path, body: data, ctype: "application/yaml"})
		if err != nil {
			return err
		}
		if ok, err := e.structured([][]byte{r.body}, false); ok {
			return err
		}
		var res api.ApplyResult
		if err := json.Unmarshal(r.body, &res); err != nil {
			return fmt.Errorf("decoding the API's answer: %w", err)
		}
		return printDiff(e.stdout, *file, res)
	}
}

func readFile(path string, stdin io.Reader) ([]byte, error) {
	data, _, err := topologies.Read(path, stdin, api.DefaultMaxTopologyBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: -f: %w", errUsage, err)
	}
	return data, nil
}

// printDiff prints an apply's changes in the manner of a unified diff
// (kubectl diff): a header per object, "-" lines for its keys before and
// "+" lines after, then a summary.
func printDiff(w io.Writer, file string, res api.ApplyResult) error {
	scope := "every object"
	if res.Scope != "" {
		scope = "scope " + res.Scope
	}
	var b strings.Builder
	if len(res.Changes) > 0 {
		fmt.Fprintf(&b, "--- stored (%s)\n+++ %s\n", scope, file)
	}
	for _, c := range res.Changes {
		name := c.Name
		if name == "" {
			name = c.ID.String()
		}
		fmt.Fprintf(&b, "@@ %s %s %s", c.Op, c.Kind, name)
		if c.Owner != "" {
			fmt.Fprintf(&b, " (%s)", c.Owner)
		}
		if c.Consequence {
			b.WriteString(" [consequence]") // not in the file: the NSDB's bindings make it
		}
		b.WriteString(" @@\n")
		for _, f := range c.Fields {
			if f.Old != nil {
				fmt.Fprintf(&b, "-  %s: %s\n", f.Field, flow(f.Old))
			}
		}
		for _, f := range c.Fields {
			if f.New != nil {
				fmt.Fprintf(&b, "+  %s: %s\n", f.Field, flow(f.New))
			}
		}
	}
	fmt.Fprintf(&b, "%s: %d created, %d updated, %d deleted, %d unchanged", scope, res.Created, res.Updated, res.Deleted, res.Unchanged)
	switch {
	case res.DryRun:
		b.WriteString(" (dry run: nothing written)")
	case res.Version != 0:
		fmt.Fprintf(&b, " (version %d)", res.Version)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// flow formats a value on one line: strings bare, the rest as JSON.
func flow(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func exportFlags(fs *flag.FlagSet) func(*env) error {
	scope := fs.String("scope", "", "export this `scope` (default: every object)")
	return func(e *env) error {
		if err := e.need(0, 0); err != nil {
			return err
		}
		path := "/v1/topology"
		if *scope != "" {
			path += "?scope=" + url.QueryEscape(*scope)
		}
		r, err := e.c.get(e.ctx, path)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(r.body)
		return err
	}
}
