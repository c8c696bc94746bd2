package docs_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"tim/api"
)

// TestPagesRenderInChromium runs web/e2e/docs.ts: headless Chromium
// (driven by the pinned playwright-core) opens /docs/websocket and /docs,
// offline, and finds every operation, message, example, server frame and
// close code of asyncapi.yaml, and every operation of openapi.yaml,
// rendered. Without Chromium, node or web/'s packages it skips, or fails
// when TIM_BROWSER_TESTS=required (as in CI). Its screenshots go to
// TIM_BROWSER_ARTIFACTS, or to a new directory under the system's
// temporary directory; the path is logged.
func TestPagesRenderInChromium(t *testing.T) {
	t.Parallel()
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
	script := filepath.Join(out, "docs.test.mjs")
	build := exec.Command(esbuild, filepath.Join(web, "e2e", "docs.ts"), "--bundle", "--platform=node", "--format=esm",
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
	want, err := json.Marshal(expectations(t))
	if err != nil {
		t.Fatal(err)
	}

	srv := serve(t)
	// The script has its own timeouts; this bounds the run as a whole.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	run.Env = append(os.Environ(), "TIM_URL="+srv.URL, "TIM_CHROMIUM="+chromium, "TIM_BROWSER_ARTIFACTS="+artifacts,
		"TIM_DOCS_EXPECT="+string(want), "NO_COLOR=1")
	b, err := run.CombinedOutput()
	t.Logf("node --test:\n%s", b)
	if err != nil {
		t.Fatalf("the browser test failed: %v (screenshots in %s)", err, artifacts)
	}
}

// expected is what the pages must show (the Expect type of web/e2e/docs.ts).
type expected struct {
	Operations []expectedOperation `json:"operations"`
	Messages   []expectedMessage   `json:"messages"`
	CloseCodes []string            `json:"closeCodes"`
	// OperationIDs are the operations of openapi.yaml.
	OperationIDs []string `json:"operationIds"`
}

type expectedOperation struct {
	// ID is the id of the operation's element: operation-<action>-<key>.
	ID      string `json:"id"`
	Address string `json:"address"`
}

type expectedMessage struct {
	Key      string   `json:"key"`
	Heading  string   `json:"heading"`
	Examples []string `json:"examples"`
	// Union lists the members of the payload's oneOf, a schema of openapi.yaml.
	Union []string `json:"union"`
}

// expectations reads what the pages must show from the contract documents.
func expectations(t *testing.T) expected {
	t.Helper()
	type ref struct {
		Ref string `yaml:"$ref"`
	}
	var doc struct {
		Info struct {
			CloseCodes map[string]any `yaml:"x-close-codes"`
		} `yaml:"info"`
		Channels map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"channels"`
		Operations map[string]struct {
			Action  string `yaml:"action"`
			Channel ref    `yaml:"channel"`
		} `yaml:"operations"`
		Components struct {
			Messages map[string]struct {
				Name     string `yaml:"name"`
				Title    string `yaml:"title"`
				Examples []struct {
					Name string `yaml:"name"`
				} `yaml:"examples"`
				Payload struct {
					Ref    string `yaml:"$ref"`
					Schema ref    `yaml:"schema"`
				} `yaml:"payload"`
			} `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.AsyncAPI, &doc); err != nil {
		t.Fatal(err)
	}
	spec, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}

	var e expected
	for key, op := range doc.Operations {
		ch, ok := doc.Channels[strings.TrimPrefix(op.Channel.Ref, "#/channels/")]
		if !ok {
			t.Fatalf("operation %s: no channel %s", key, op.Channel.Ref)
		}
		e.Operations = append(e.Operations, expectedOperation{ID: "operation-" + op.Action + "-" + key, Address: ch.Address})
	}
	const frames = "./openapi.yaml#/components/schemas/"
	for key, m := range doc.Components.Messages {
		em := expectedMessage{Key: key, Heading: m.Title, Examples: []string{}, Union: []string{}}
		if em.Heading == "" {
			em.Heading = m.Name
		}
		for _, ex := range m.Examples {
			em.Examples = append(em.Examples, ex.Name)
		}
		for _, r := range []string{m.Payload.Ref, m.Payload.Schema.Ref} {
			name, ok := strings.CutPrefix(r, frames)
			if !ok {
				continue
			}
			schema, ok := spec.Components.Schemas[name]
			if !ok {
				t.Fatalf("message %s: openapi.yaml has no schema %s", key, name)
			}
			for _, member := range schema.Value.OneOf {
				em.Union = append(em.Union, strings.TrimPrefix(member.Ref, "#/components/schemas/"))
			}
		}
		e.Messages = append(e.Messages, em)
	}
	for code := range doc.Info.CloseCodes {
		e.CloseCodes = append(e.CloseCodes, code)
	}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			e.OperationIDs = append(e.OperationIDs, op.OperationID)
		}
	}
	slices.SortFunc(e.Operations, func(a, b expectedOperation) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(e.Messages, func(a, b expectedMessage) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(e.CloseCodes)
	slices.Sort(e.OperationIDs)

	// The documents are what this test knows them to be: a change that
	// empties a list would make the browser's checks vacuous.
	var unions int
	for _, m := range e.Messages {
		if len(m.Union) > 0 {
			unions++
		}
	}
	if len(e.Operations) != 6 || len(e.Messages) < 10 || unions != 3 || len(e.CloseCodes) < 5 || len(e.OperationIDs) < 20 {
		t.Fatalf("unexpected contract: %d operations, %d messages (%d unions), %d close codes, %d HTTP operations",
			len(e.Operations), len(e.Messages), unions, len(e.CloseCodes), len(e.OperationIDs))
	}
	return e
}
