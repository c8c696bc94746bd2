package frame

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCodecIsPure: the codec turns bytes into values and back. It imports
// the generated models and the standard library's encoding and text
// packages, never the network, files, the store or another package of Tim.
func TestCodecIsPure(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"net", "net/http", "os", "os/exec", "io/fs", "database/sql", "syscall", "log", "log/slog"}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range f.Imports {
			path, _ := strconv.Unquote(spec.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case path == "tim/gen/models":
			case first == "tim" || strings.Contains(first, "."):
				t.Errorf("%s imports %s: the codec imports only the models and the standard library", name, path)
			case slices.Contains(forbidden, path):
				t.Errorf("%s imports %s: the codec does no I/O", name, path)
			}
		}
	}
}
