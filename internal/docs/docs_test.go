package docs_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

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

// TestReferencePageServesEverythingItself: /docs is Redoc over
// /openapi.yaml, every script it loads is served by Tim itself, and its
// policy lets the browser load nothing from another host.
func TestReferencePageServesEverythingItself(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	res, body := get(t, srv, "/docs")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "http") {
		t.Errorf("policy %q allows other hosts", csp)
	}
	srcs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(srcs) == 0 {
		t.Fatal("no scripts or links")
	}
	for _, m := range srcs {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("/docs loads %s from elsewhere", m[1])
		}
	}
	for _, want := range []string{`src="/docs/redoc.standalone.js"`, `src="/docs/redoc-init.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/docs lacks %s", want)
		}
	}
	res, init := get(t, srv, "/docs/redoc-init.js")
	if res.StatusCode != 200 || !strings.Contains(init, `Redoc.init("/openapi.yaml"`) {
		t.Errorf("redoc-init.js: %d %s", res.StatusCode, init)
	}

	// The bundle is the pinned copy that make generate made, byte for byte.
	want, err := os.ReadFile("../../gen/docsassets/redoc.standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	res, js := get(t, srv, "/docs/redoc.standalone.js")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") || !bytes.Equal([]byte(js), want) {
		t.Fatalf("bundle: %d %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(js))
	}
	if !strings.Contains(js, "Redoc") {
		t.Error("the bundle is not Redoc's")
	}
	res, _ = get(t, srv, "/docs/redoc.standalone.js", "If-None-Match", res.Header.Get("ETag"))
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", res.StatusCode)
	}
	res, lic := get(t, srv, "/docs/redoc.LICENSE.txt")
	if res.StatusCode != 200 || !strings.Contains(lic, "MIT") {
		t.Errorf("licence: %d", res.StatusCode)
	}
}

// TestWebSocketPageListsTheContract: /docs/websocket shows every channel
// of asyncapi.yaml, every frame of each channel's union by its type, every
// message example, and the close codes.
func TestWebSocketPageListsTheContract(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	res, body := get(t, srv, "/docs/websocket")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		Info struct {
			CloseCodes map[string]string `yaml:"x-close-codes"`
		} `yaml:"info"`
		Channels map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"channels"`
		Components struct {
			Messages map[string]struct {
				Name     string `yaml:"name"`
				Examples []struct {
					Name string `yaml:"name"`
				} `yaml:"examples"`
			} `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.AsyncAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Channels) != 3 {
		t.Fatalf("channels %v", doc.Channels)
	}
	for id, ch := range doc.Channels {
		for _, want := range []string{`id="channel-` + id + `"`, ch.Address} {
			if !strings.Contains(body, want) {
				t.Errorf("channel %s: page lacks %q", id, want)
			}
		}
	}
	for _, m := range doc.Components.Messages {
		if !strings.Contains(body, m.Name) {
			t.Errorf("page lacks message %s", m.Name)
		}
		for _, ex := range m.Examples {
			if !strings.Contains(body, "Example <em>"+ex.Name+"</em>") {
				t.Errorf("message %s: page lacks example %s", m.Name, ex.Name)
			}
		}
	}
	for code := range doc.Info.CloseCodes {
		if !strings.Contains(body, "<td>"+code+"</td>") {
			t.Errorf("page lacks close code %s", code)
		}
	}
	for typ, frame := range map[string]string{
		"connected": "ConnectedFrame", "users": "UsersFrame", "message": "MessageFrame", "ack": "AckFrame",
		"error": "ErrorFrame", "presence": "PresenceFrame", "group.presence": "GroupPresenceFrame", "group.online": "GroupOnlineFrame",
	} {
		if !strings.Contains(body, `<td><code>`+typ+`</code></td><td><a href="#`+frame+`">`) {
			t.Errorf("page lacks type %s → %s", typ, frame)
		}
		if !strings.Contains(body, `<section class="frame" id="`+frame+`">`) {
			t.Errorf("page does not describe %s", frame)
		}
	}
	// Markdown of the descriptions is rendered, and text is escaped.
	for _, want := range []string{"<h2>Delivery</h2>", "<code>clientMsgId</code>", "<table>", "&#34;to&#34;"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
