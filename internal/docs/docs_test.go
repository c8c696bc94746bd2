package docs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"tim/api"
	"tim/internal/docs"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	pages, err := docs.New(api.OpenAPI, api.AsyncAPI)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	pages.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestPagesServeEverythingThemselves: /docs (Redoc over /openapi.yaml)
// and /docs/websocket (the AsyncAPI component over /asyncapi.yaml) load
// only scripts and style sheets served by Tim itself, their policies let
// the browser load nothing from another host, the bundles are the pinned
// copies that make generate made, byte for byte, with their licences, and
// the documents are the embedded ones.
func TestPagesServeEverythingThemselves(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	for _, p := range []struct {
		path    string
		loads   []string
		init    string
		renders string
	}{
		{"/docs", []string{"/docs/redoc.standalone.js", "/docs/redoc-init.js"}, "/docs/redoc-init.js", `Redoc.init("/openapi.yaml"`},
		{"/docs/websocket", []string{"/docs/asyncapi.default.min.css", "/docs/asyncapi.standalone.js", "/docs/asyncapi-init.js"},
			"/docs/asyncapi-init.js", `new URL("/asyncapi.yaml", document.baseURI)`},
	} {
		res, body := get(t, srv, p.path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: %d %s", p.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self';") || strings.Contains(csp, "http") {
			t.Errorf("%s: policy %q allows other hosts", p.path, csp)
		}
		var loaded []string
		for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
				t.Errorf("%s loads %s from elsewhere", p.path, m[1])
			}
			if strings.Contains(m[0], "src=") || strings.HasSuffix(m[1], ".css") {
				loaded = append(loaded, m[1])
			}
		}
		if !slices.Equal(loaded, p.loads) {
			t.Errorf("%s loads %v, want %v", p.path, loaded, p.loads)
		}
		res, init := get(t, srv, p.init)
		if res.StatusCode != 200 || !strings.Contains(init, p.renders) {
			t.Errorf("%s: %d %s", p.init, res.StatusCode, init)
		}
	}

	for _, a := range []struct{ path, file, contentType, contains string }{
		{"/docs/redoc.standalone.js", "redoc.standalone.js", "text/javascript; charset=utf-8", "Redoc"},
		{"/docs/redoc.LICENSE.txt", "redoc.LICENSE.txt", "text/plain; charset=utf-8", "MIT"},
		{"/docs/asyncapi.standalone.js", "asyncapi.standalone.js", "text/javascript; charset=utf-8", "AsyncApiStandalone"},
		{"/docs/asyncapi.default.min.css", "asyncapi.default.min.css", "text/css; charset=utf-8", ".aui-root"},
		{"/docs/asyncapi.LICENSE.txt", "asyncapi.LICENSE.txt", "text/plain; charset=utf-8", "Apache License"},
	} {
		want, err := os.ReadFile(filepath.Join("..", "..", "gen", "docsassets", a.file))
		if err != nil {
			t.Fatal(err)
		}
		res, body := get(t, srv, a.path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != a.contentType || body != string(want) || !strings.Contains(body, a.contains) {
			t.Errorf("%s: %d %s, %d bytes, want gen/docsassets/%s (%d bytes) containing %q",
				a.path, res.StatusCode, res.Header.Get("Content-Type"), len(body), a.file, len(want), a.contains)
		}
		res, _ = get(t, srv, a.path, "If-None-Match", res.Header.Get("ETag"))
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s: revalidation: %d", a.path, res.StatusCode)
		}
	}

	for path, want := range map[string][]byte{"/openapi.yaml": api.OpenAPI, "/asyncapi.yaml": api.AsyncAPI} {
		res, body := get(t, srv, path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/yaml" || body != string(want) {
			t.Errorf("%s: %d %s, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
	}
}
