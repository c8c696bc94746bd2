package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Packages allowed to import the driver or the generated queries in their
// non-test files, besides gen/ itself.
var mayImportDriver = map[string]string{
	"tim/internal/store":             "the store layer",
	"tim/internal/testdb":            "test support: creates and drops test databases, used by tests only",
	"tim/internal/testdb/cmd/testpg": "test support: starts the test cluster and migrates a database for sqlc vet",
}

// isDriver reports whether an import path is the generated queries or the
// PostgreSQL driver.
func isDriver(path string) bool {
	return path == "tim/gen/db" || path == "github.com/jackc/pgx/v5" || strings.HasPrefix(path, "github.com/jackc/pgx/v5/")
}

// TestOnlyTheStoreImportsTheDriver: no package under internal/ or cmd/
// other than the store layer imports pgx or gen/db in non-test code, so
// driver types and generated rows never reach the domain packages.
func TestOnlyTheStoreImportsTheDriver(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "tim/internal/...", "tim/cmd/...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, imports := fields[0], fields[1:]
		if !strings.HasPrefix(pkg, "tim/internal/") && !strings.HasPrefix(pkg, "tim/cmd/") {
			continue // the standard library, third parties, gen/
		}
		checked++
		var bad []string
		for _, imp := range imports {
			if isDriver(imp) {
				bad = append(bad, imp)
			}
		}
		_, allowed := mayImportDriver[pkg]
		switch {
		case len(bad) > 0 && !allowed:
			t.Errorf("%s imports %s in non-test code: go through package store", pkg, strings.Join(bad, ", "))
		case pkg == "tim/internal/store" && len(bad) == 0:
			t.Errorf("the store imports no driver package: the check sees nothing")
		}
	}
	if checked < 10 {
		t.Fatalf("go list named %d packages of Tim; the check saw too few:\n%s", checked, out)
	}
}
