package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// globals are the options every command takes.
type globals struct {
	server, tokenFile, caFile, output string
	ids, noHeaders                    bool
}

// defaultServer is the API's address when neither --server nor
// HIVENET_API says one.
const defaultServer = "http://127.0.0.1:8080"

func newGlobals() *globals {
	g := &globals{server: os.Getenv("HIVENET_API")}
	if g.server == "" {
		g.server = defaultServer
	}
	return g
}

// register defines the global flags on fs, with their current values as
// defaults (they may have been set before the command's name).
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", g.server, "the API's `URL` (default $HIVENET_API, else "+defaultServer+")")
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "`file` holding the bearer token, mode 600 (default: the token in $HIVENET_TOKEN)")
	fs.StringVar(&g.caFile, "cacert", g.caFile, "CA certificate `file` (PEM) for an https --server")
	fs.StringVar(&g.output, "o", g.output, "output `format`: table (default), json, yaml or name")
	fs.BoolVar(&g.ids, "ids", g.ids, "show UUIDs: an ID column, references as UUIDs")
	fs.BoolVar(&g.noHeaders, "no-headers", g.noHeaders, "leave out table headers")
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	g      *globals
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	fs     *flag.FlagSet
	// args are the command's positional arguments.
	args []string
	c    *client
}

func (e *env) printer() *printer { return &printer{ctx: e.ctx, g: e.g, c: e.c, out: e.stdout} }

// command is one subcommand.
type command struct {
	name, args, summary string
	// flags defines the command's own flags; run runs it.
	flags func(fs *flag.FlagSet) func(e *env) error
}

// commands lists every subcommand (completion.go reads it too).
var commands []command

func init() {
	commands = []command{
		{"list", "KIND", "list every object of a kind", listFlags},
		{"get", "KIND [NAME...]", "show objects (all of the kind without names); -w follows changes", getFlags},
		{"create", "KIND [NAME] [key=value|key:=json...]", "create an object (or -f FILE: JSON or YAML)", createFlags},
		{"set", "KIND NAME key=value|key:=json|key=...", "change keys of an object (key= removes one)", setFlags},
		{"delete", "KIND NAME...", "delete objects", deleteFlags},
		{"hosts", "", "hosts, their liveness and ports", noFlags(runHosts)},
		{"mac-table", "BRIDGE", "a bridge's MAC table (--vlan N for a VLAN's)", macTableFlags},
		{"arp-table", "ROUTER", "a router's ARP table", noFlags(runARPTable)},
		{"status", "", "cluster nodes, their services, and who leads what", noFlags(runStatus)},
		{"apply", "-f FILE", "apply a topology file as the desired state of a scope; prints the changes", applyFlags},
		{"export", "", "print a scope (or everything) as a topology file", exportFlags},
		{"trace", "--from PORT (--icmp-echo|--tcp|--udp|--arp-request) ...", "simulate a packet against the live network", traceFlags},
		{"vtep", "bind|unbind|bindings|status ...", "a VTEP's bindings to bridges and its VxLAN gateway status", vtepFlags},
		{"bgp", "[PORT...] [--routes]", "BGP uplink ports: sessions (state, uptime, prefixes), or learned routes", bgpFlags},
		{"completion", "bash|zsh", "print a shell completion script", noFlags(runCompletion)},
	}
}

// commandDetails are more lines of a command's usage, for commands with
// subcommands.
var commandDetails = map[string]string{"vtep": vtepUsage}

func noFlags(run func(e *env) error) func(*flag.FlagSet) func(*env) error {
	return func(*flag.FlagSet) func(*env) error { return run }
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hivectl [global flags] COMMAND [args] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %-30s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nkinds: "+strings.Join(kindNames(), " ")+" (or singular)")
	fmt.Fprintln(w, "\nglobal flags (before or after the command):")
	fs := flag.NewFlagSet("hivectl", flag.ContinueOnError)
	newGlobals().register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// run runs the command line: 0 on success, 1 when the API or the network
// failed, 2 on a bad command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := newGlobals()
	gfs := flag.NewFlagSet("hivectl", flag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	g.register(gfs)
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "hivectl: %v\n", err)
		usage(stderr)
		return 2
	}
	if gfs.NArg() == 0 {
		usage(stderr)
		return 2
	}
	name := gfs.Arg(0)
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		fmt.Fprintf(stderr, "hivectl: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	cmd := commands[i]
	fs := flag.NewFlagSet("hivectl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	runCmd := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hivectl %s %s\n  %s\n%s\nflags:\n", cmd.name, cmd.args, cmd.summary, commandDetails[cmd.name])
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, gfs.Args()[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package said why
	}
	if !slices.Contains([]string{"", "table", "json", "yaml", "name"}, g.output) {
		fmt.Fprintf(stderr, "hivectl: -o %q: want table, json, yaml or name\n", g.output)
		return 2
	}
	e := &env{ctx: ctx, g: g, stdin: stdin, stdout: stdout, stderr: stderr, fs: fs, args: pos}
	if name != "completion" {
		if e.c, err = newClient(g); err != nil {
			fmt.Fprintf(stderr, "hivectl: %v\n", err)
			return 2
		}
	}
	if err := runCmd(e); err != nil {
		return report(stderr, name, err)
	}
	return 0
}

// report prints a command's error and returns the exit status.
func report(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "hivectl %s: %v\n", name, err)
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// parseInterspersed parses flags anywhere among the positional arguments
// (Go's flag package stops at the first of them), and returns those.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// need checks the number of positional arguments.
func (e *env) need(min, max int) error {
	if n := len(e.args); n < min || (max >= 0 && n > max) {
		e.fs.Usage()
		return fmt.Errorf("%w: %d arguments (%s)", errUsage, n, strings.Join(e.args, " "))
	}
	return nil
}
