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

// domainPackages hold Tim's rules; they are reached over HTTP through
// httpapi and over WebSockets through realtime's routes, and never reach
// back into the HTTP stack. Their sub-packages are held to the same rule.
var domainPackages = []string{
	"tim/internal/accounts",
	"tim/internal/social",
	"tim/internal/messages",
	"tim/internal/media",
	"tim/internal/realtime",
	"tim/internal/userview",
}

// TestNoDomainPackageImportsHTTPAPI: no domain package depends on
// internal/httpapi in non-test code, directly or through another package:
// what the HTTP layer hands the domain (the client's address, the claims)
// travels in the context through packages of its own (clientaddr, auth).
func TestNoDomainPackageImportsHTTPAPI(t *testing.T) {
	t.Parallel()
	const httpapi = "tim/internal/httpapi"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "tim/...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		if fields := strings.Fields(line); len(fields) > 0 {
			imports[fields[0]] = fields[1:]
		}
	}
	// path returns a chain of imports from pkg to httpapi, or nil.
	path := func(pkg string) []string {
		from := map[string]string{pkg: ""}
		queue := []string{pkg}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if p == httpapi {
				var chain []string
				for ; p != ""; p = from[p] {
					chain = append(chain, p)
				}
				slices.Reverse(chain)
				return chain
			}
			for _, q := range imports[p] {
				if _, seen := from[q]; !seen {
					from[q] = p
					queue = append(queue, q)
				}
			}
		}
		return nil
	}
	if path("tim/internal/app") == nil {
		t.Fatalf("tim/internal/app does not reach %s: the check sees nothing", httpapi)
	}
	checked := 0
	for pkg := range imports {
		if !slices.ContainsFunc(domainPackages, func(d string) bool { return pkg == d || strings.HasPrefix(pkg, d+"/") }) {
			continue
		}
		checked++
		if chain := path(pkg); chain != nil {
			t.Errorf("%s depends on the HTTP stack: %s", pkg, strings.Join(chain, " → "))
		}
	}
	if checked < len(domainPackages) {
		t.Fatalf("go list named %d of the %d domain packages", checked, len(domainPackages))
	}
}
