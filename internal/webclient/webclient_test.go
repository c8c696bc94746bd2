// Package webclient_test runs the TypeScript client's tests (web/test)
// against a real server: it bundles them with the pinned esbuild (make lint
// type-checks them with tsc), starts a server on a fresh database, and runs
// the bundles with node --test.
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
	esbuild := filepath.Join(web, "node_modules", ".bin", "esbuild")
	if _, err := os.Stat(esbuild); err != nil {
		t.Skip("web/node_modules is not installed: run npm ci --prefix web (make lint does)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	// Inside web/, so that the bundles find web/node_modules and
	// web/package.json ("type": "module").
	out, err := os.MkdirTemp(web, ".test-out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	sources, err := filepath.Glob(filepath.Join(web, "test", "*.test.ts"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no tests in %s (%v)", filepath.Join(web, "test"), err)
	}
	// One bundle per test file; the packages stay imports of web/node_modules.
	build := exec.Command(esbuild, append(sources, "--bundle", "--platform=node", "--format=esm",
		"--packages=external", "--outdir="+out, "--log-level=warning")...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, b)
	}
	tests, err := filepath.Glob(filepath.Join(out, "*.test.js"))
	if err != nil || len(tests) != len(sources) {
		t.Fatalf("bundled %d of %d tests into %s (%v)", len(tests), len(sources), out, err)
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
