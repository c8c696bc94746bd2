package httpapi_test

import (
	"strings"
	"testing"

	"tim/internal/testenv"
)

// TestDocumentationIsServed: the rendered reference, the WebSocket page
// and the index are served next to the contract documents, without a token.
func TestDocumentationIsServed(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	for path, want := range map[string]string{
		"/":                            `href="/docs"`,
		"/docs":                        `/docs/redoc.standalone.js`,
		"/docs/websocket":              `/docs/asyncapi.standalone.js`,
		"/docs/redoc.standalone.js":    `Redoc`,
		"/docs/asyncapi.standalone.js": `AsyncApiStandalone`,
		"/openapi.yaml":                `openapi: 3.`,
		"/asyncapi.yaml":               `/websocket/OneToOne/{useraccount}/{friendaccount}`,
	} {
		res, b := do(t, env, "GET", path, nil, nil)
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, want %q in the body", path, res.StatusCode, want)
		}
	}
}
