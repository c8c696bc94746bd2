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

	"tim/internal/realtime/frame"
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
// every value and every constructor that refusal.go declares, a
// constructor by a sample call or by a listed value it makes.
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
	// called returns the name of the function call n makes, or "".
	called := func(n ast.Expr) string {
		if call, ok := n.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok {
				return id.Name
			}
		}
		return ""
	}
	constructors := map[string]bool{"refusal": true}
	var listing *ast.FuncDecl
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil {
			continue
		}
		if fd.Name.Name == "Refusals" {
			listing = fd
			continue
		}
		if res := fd.Type.Results; res != nil && len(res.List) == 1 {
			if id, ok := res.List[0].Type.(*ast.Ident); ok && id.Name == "Refusal" {
				constructors[fd.Name.Name] = true
			}
		}
	}
	if listing == nil {
		t.Fatal("refusal.go declares no Refusals")
	}
	// values maps each value of the vocabulary to the constructor it is
	// made with.
	values := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) && constructors[called(vs.Values[i])] {
					values[name.Name] = called(vs.Values[i])
				}
			}
		}
	}
	listed := map[string]bool{}
	ast.Inspect(listing.Body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			listed[id.Name] = true
			listed[values[id.Name]] = true
		}
		return true
	})
	if len(values) < 50 || len(constructors) < 6 {
		t.Fatalf("refusal.go declares %d values and %d constructors: the check sees too little", len(values), len(constructors))
	}
	for name := range values {
		if !listed[name] {
			t.Errorf("Refusals does not list %s", name)
		}
	}
	for name := range constructors {
		if name != "refusal" && !listed[name] {
			t.Errorf("Refusals lists no refusal of %s", name)
		}
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

// The frame codec's refusals, kept in the codec (it imports nothing but
// the models), are examples of the contract too, and share no message
// with the vocabulary.
func TestFrameErrorsAreInTheContractAndWordedOnce(t *testing.T) {
	examples := map[reply.Refusal]bool{}
	contractExamples(t, "../../api/asyncapi.yaml", examples)
	seen := map[string]bool{}
	for _, r := range reply.Refusals() {
		seen[r.Message] = true
	}
	for _, e := range frame.Errors() {
		if seen[e.Message] {
			t.Errorf("frame error %q is worded twice", e.Message)
		}
		seen[e.Message] = true
		if !examples[reply.Refusal{Code: e.Code, Message: e.Message}] {
			t.Errorf("frame error {code: %d, message: %s} is no example of api/asyncapi.yaml", e.Code, e.Message)
		}
	}
}
