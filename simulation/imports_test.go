package simulation

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/hivenet/hivenet"

// forbiddenDep reports whether a dependency of a pure simulation package
// is a store or a leaser: package nat or any nsdb package.
func forbiddenDep(path string) bool {
	for _, p := range []string{module + "/nat", module + "/nsdb"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// listDeps runs go list on patterns and returns, for each package matched,
// its transitive non-test dependencies.
func listDeps(t *testing.T, patterns ...string) map[string][]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	args := append([]string{"list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}, patterns...)
	out, err := exec.Command(goCmd, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}

// The pure simulator imports no store and no leaser: no package under
// simulation/ depends, directly or not, on package nat or an nsdb package.
// Package nat, which does import the NSDB, is listed alongside as a control
// that the check finds such a dependency when there is one.
func TestSimulationDoesNotImportNATOrNSDB(t *testing.T) {
	deps := listDeps(t, module+"/simulation/...", module+"/nat")

	// Control: the check sees nat's dependency on the NSDB.
	if !hasForbidden(deps[module+"/nat"]) {
		t.Fatalf("control failed: the dependencies of %s/nat (%d listed) show no nsdb package", module, len(deps[module+"/nat"]))
	}

	checked := 0
	for pkg, ds := range deps {
		if !strings.HasPrefix(pkg, module+"/simulation") {
			continue
		}
		checked++
		for _, d := range ds {
			if forbiddenDep(d) {
				t.Errorf("%s depends on %s: the simulator must not import a store or a leaser", pkg, d)
			}
		}
	}
	t.Logf("checked the dependencies of %d simulation packages", checked)
	if checked == 0 {
		t.Fatal("go list matched no simulation package")
	}
	for _, want := range []string{"/simulation", "/simulation/l4", "/simulation/packet", "/simulation/harness"} {
		if _, ok := deps[module+want]; !ok {
			t.Errorf("%s%s was not checked", module, want)
		}
	}
	// The dependency lists are really read: simulation/l4 builds on
	// flowstate and topology.
	for _, want := range []string{"/flowstate", "/topology"} {
		found := false
		for _, d := range deps[module+"/simulation/l4"] {
			found = found || d == module+want
		}
		if !found {
			t.Errorf("the dependencies of %s/simulation/l4 do not list %s%s", module, module, want)
		}
	}
}

func hasForbidden(deps []string) bool {
	for _, d := range deps {
		if forbiddenDep(d) {
			return true
		}
	}
	return false
}
