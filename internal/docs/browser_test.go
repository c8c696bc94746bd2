package docs_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"tim/api"
	"tim/internal/browsertest"
)

// TestPagesRenderInChromium runs web/e2e/docs.ts: headless Chromium
// (driven by the pinned playwright-core) opens /docs/websocket and /docs,
// offline, and finds every operation, message, example, server frame and
// close code of asyncapi.yaml, and every operation of openapi.yaml,
// rendered (browsertest says when it skips and where its screenshots go).
func TestPagesRenderInChromium(t *testing.T) {
	t.Parallel()
	want, err := json.Marshal(expectations(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t)
	browsertest.Run(t, "docs", srv.URL, 3*time.Minute, "TIM_DOCS_EXPECT="+string(want))
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
