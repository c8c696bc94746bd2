// Package webclient_test runs the TypeScript client's tests (web/test)
// against a real server: it compiles web/ with the pinned TypeScript, starts
// a server on a fresh database, and runs the compiled tests with node --test.
package webclient_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestTypeScriptClient(t *testing.T) {
	web, err := filepath.Abs("../../web")
	if err != nil {
		t.Fatal(err)
	}
	tsc := filepath.Join(web, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Skip("web/node_modules is not installed: run npm ci --prefix web (make lint does)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	// Inside web/, so that the compiled files find web/node_modules and
	// web/package.json ("type": "module").
	out, err := os.MkdirTemp(web, ".test-out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	build := exec.Command(tsc, "-p", filepath.Join(web, "tsconfig.json"), "--noEmit", "false", "--outDir", out)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, b)
	}
	tests, err := filepath.Glob(filepath.Join(out, "web", "test", "*.test.js"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no compiled tests in %s (%v)", out, err)
	}

	env := testenv.New(t)
	args := append([]string{"--experimental-websocket", "--test", "--test-reporter=spec"}, tests...)
	// Each test has its own timeout; this bounds the run as a whole.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, node, args...)
	run.Env = append(os.Environ(), "TIM_URL="+env.URL, "NO_COLOR=1")
	b, err := run.CombinedOutput()
	t.Logf("node --test:\n%s", b)
	if err != nil {
		t.Fatalf("the TypeScript client's tests failed: %v", err)
	}
}
