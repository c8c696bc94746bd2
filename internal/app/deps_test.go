package app_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestTheServerLinksOneModelSet: the server binary is built on the shared
// models (gen/models) and the generated server (gen/server), and carries no
// generated client: the client is for tests and the load generator.
func TestTheServerLinksOneModelSet(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "tim/cmd/tim").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	for _, want := range []string{"tim/gen/models", "tim/gen/server"} {
		if !slices.Contains(deps, want) {
			t.Errorf("tim/cmd/tim does not depend on %s; the check sees nothing", want)
		}
	}
	if slices.Contains(deps, "tim/gen/client") {
		t.Errorf("tim/cmd/tim depends on tim/gen/client: only tests and cmd/loadtest may import the generated client")
	}
}
