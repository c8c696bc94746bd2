package deploy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMakeRunBuildsOnlyTheServer: `make run` builds bin/tim and nothing
// else (the load generator is no business of an operator starting the
// server), while `make build` still builds both. make -n prints the
// commands without running them.
func TestMakeRunBuildsOnlyTheServer(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dryRun := func(target string) string {
		t.Helper()
		// -B: print the recipes even when the outputs are up to date.
		out, err := exec.Command("make", "-C", "..", "-n", "-B", "--no-print-directory", target, "BIN=bin").CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}

	run := dryRun("run")
	if !strings.Contains(run, "./cmd/tim") {
		t.Errorf("make run does not build the server:\n%s", run)
	}
	if strings.Contains(run, "./cmd/loadtest") {
		t.Errorf("make run builds the load generator:\n%s", run)
	}
	build := dryRun("build")
	for _, pkg := range []string{"./cmd/tim", "./cmd/loadtest"} {
		if !strings.Contains(build, pkg) {
			t.Errorf("make build does not build %s:\n%s", pkg, build)
		}
	}
}
