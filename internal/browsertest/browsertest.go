// Package browsertest runs a browser test of web/e2e: a TypeScript script,
// bundled with web/'s pinned esbuild and run by node's test runner, that
// drives headless Chromium through web/'s pinned playwright-core against a
// server the Go test started.
//
// Without Chromium, node or web/'s packages the test is skipped, or fails
// when TIM_BROWSER_TESTS=required (as in CI). TIM_CHROMIUM names the
// browser (default /usr/bin/chromium). Screenshots go to
// TIM_BROWSER_ARTIFACTS, or to a new directory under the system's
// temporary directory; the path is logged.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Run bundles web/e2e/<name>.ts and runs it with TIM_URL=url and env (more
// KEY=value pairs), failing t when the script fails or runs past timeout.
// The calling test's package directory must be two levels below the
// repository's root (internal/<package>).
func Run(t *testing.T, name, url string, timeout time.Duration, env ...string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("TIM_BROWSER_TESTS") == "required" {
			t.Fatalf(format+" (TIM_BROWSER_TESTS=required)", args...)
		}
		t.Skipf(format, args...)
	}
	chromium := os.Getenv("TIM_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(chromium); err != nil {
		missing("no Chromium at %s (apt-get install chromium, or set TIM_CHROMIUM): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	web, err := filepath.Abs("../../web")
	if err != nil {
		t.Fatal(err)
	}
	esbuild := filepath.Join(web, "node_modules", ".bin", "esbuild")
	for _, p := range []string{esbuild, filepath.Join(web, "node_modules", "playwright-core")} {
		if _, err := os.Stat(p); err != nil {
			missing("web/node_modules is not installed: run npm ci --prefix web (make lint does): %v", err)
		}
	}

	// Compile the script into web/, where it finds web/node_modules.
	out, err := os.MkdirTemp(web, ".test-out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	script := filepath.Join(out, name+".test.mjs")
	build := exec.Command(esbuild, filepath.Join(web, "e2e", name+".ts"), "--bundle", "--platform=node", "--format=esm",
		"--packages=external", "--log-level=warning", "--outfile="+script)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, b)
	}

	artifacts := os.Getenv("TIM_BROWSER_ARTIFACTS")
	if artifacts == "" {
		if artifacts, err = os.MkdirTemp("", "tim-browser-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", artifacts)

	// The script has its own timeouts; this bounds the run as a whole.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	run := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	run.Env = append(os.Environ(), "TIM_URL="+url, "TIM_CHROMIUM="+chromium, "TIM_BROWSER_ARTIFACTS="+artifacts, "NO_COLOR=1")
	run.Env = append(run.Env, env...)
	b, err := run.CombinedOutput()
	t.Logf("node --test:\n%s", b)
	if err != nil {
		t.Fatalf("the browser test failed: %v (screenshots in %s)", err, artifacts)
	}
}
