package reply_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"tim/internal/reply"
)

// contractExamples collects every {code, message} object of the document at
// path: the examples of the REST responses and the payloads of the
// WebSocket frames.
func contractExamples(t *testing.T, path string, into map[reply.Refusal]bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			code, okCode := v["code"].(int)
			msg, okMsg := v["message"].(string)
			if okCode && okMsg {
				into[reply.Refusal{Code: int32(code), Message: msg}] = true
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
}

// Every refusal is an example of the contract, so that a client's author
// finds each one there with its code.
func TestRefusalsAreInTheContract(t *testing.T) {
	examples := map[reply.Refusal]bool{}
	contractExamples(t, "../../api/openapi.yaml", examples)
	contractExamples(t, "../../api/asyncapi.yaml", examples)
	for _, r := range reply.Refusals() {
		if !examples[r] {
			t.Errorf("refusal {code: %d, message: %s} is no example of api/openapi.yaml or api/asyncapi.yaml", r.Code, r.Message)
		}
	}
}

// Each refusal is worded once: no two share a message, and Refusals lists
// every one that refusal.go declares.
func TestRefusalsWordedOnce(t *testing.T) {
	seen := map[string]reply.Refusal{}
	for _, r := range reply.Refusals() {
		if r.Code < 400 || r.Code > 599 {
			t.Errorf("%q: code %d is not a refusal's", r.Message, r.Code)
		}
		if prev, dup := seen[r.Message]; dup {
			t.Errorf("%q is worded twice (codes %d and %d)", r.Message, prev.Code, r.Code)
		}
		seen[r.Message] = r
	}
	f, err := parser.ParseFile(token.NewFileSet(), "refusal.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "refusal" {
				declared++
			}
		}
		return true
	})
	// refusal.go calls refusal once per value and once in FileTooLarge; the
	// helper's own declaration is no call.
	if want := len(reply.Refusals()); declared != want {
		t.Errorf("refusal.go declares %d refusals, Refusals lists %d", declared, want)
	}
}

func TestRefuse(t *testing.T) {
	wrapped := fmt.Errorf("mark read: %w", reply.NotGroupMember)
	if !errors.Is(wrapped, reply.NotGroupMember) || errors.Is(wrapped, reply.GroupNotFound) {
		t.Fatalf("errors.Is does not tell %v apart", wrapped)
	}
	e, err := reply.Refuse(wrapped)
	if err != nil || e.Code != http.StatusForbidden || e.Message != reply.NotGroupMember.Message || e.RetryAfter != 0 {
		t.Errorf("Refuse(%v) = %+v, %v", wrapped, e, err)
	}

	later := fmt.Errorf("upload: %w", reply.TooManyUploads.Retry(5))
	if !errors.Is(later, reply.TooManyUploads) {
		t.Errorf("errors.Is(%v, TooManyUploads) is false", later)
	}
	e, err = reply.Refuse(later)
	if err != nil || e.Code != http.StatusTooManyRequests || e.RetryAfter != 5 {
		t.Errorf("Refuse(%v) = %+v, %v", later, e, err)
	}

	boom := errors.New("connection reset")
	if _, err := reply.Refuse(boom); err != boom {
		t.Errorf("Refuse of a failure = %v, want it back", err)
	}
}
