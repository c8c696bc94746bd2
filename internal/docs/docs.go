// Package docs serves Tim's API reference to people: /docs renders the
// OpenAPI document with the Redoc bundle embedded in the binary (pinned in
// web/package-lock.json, copied into gen/docsassets by make generate;
// nothing is fetched from elsewhere at run time), and /docs/websocket lists the WebSocket channels
// and frames of the AsyncAPI document. The web client at / links to both.
package docs

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"tim/gen/docsassets"
)

// The docs pages load nothing from other hosts: Redoc's sidebar logo, the
// one remote resource in its bundle, is not fetched (img-src), and its
// search runs in a worker made from a blob: URL.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// reference is the /docs page: Redoc renders /openapi.yaml.
const reference = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tim HTTP API</title>
<style>body { margin: 0; padding: 0; } .tim-nav { font: 14px sans-serif; padding: 8px 16px; background: #f4f4f4; border-bottom: 1px solid #ddd; }</style>
</head>
<body>
<div class="tim-nav"><a href="/">Tim</a> · HTTP API · <a href="/docs/websocket">WebSocket channels</a> · <a href="/openapi.yaml">openapi.yaml</a> · <a href="/asyncapi.yaml">asyncapi.yaml</a></div>
<div id="redoc"></div>
<script src="/docs/redoc.standalone.js"></script>
<script src="/docs/redoc-init.js"></script>
</body>
</html>
`

// redocInit starts Redoc; a file of its own, so that no inline script is needed.
const redocInit = `Redoc.init("/openapi.yaml", {
  expandResponses: "200",
  jsonSampleExpandLevel: 3,
  hideDownloadButton: false,
  sortTagsAlphabetically: false
}, document.getElementById("redoc"));
`

// Pages are the rendered documentation pages and their handlers, made once
// (the Redoc bundle's ETag hashes a megabyte); they may be registered on
// any number of servers.
type Pages struct {
	routes []route
}

type route struct {
	path    string
	handler echo.HandlerFunc
}

// New renders the pages from the contract documents: openapi is the HTTP
// contract (whose schemas the WebSocket frames are), asyncapi the WebSocket
// contract.
func New(openapi, asyncapi []byte) (*Pages, error) {
	spec, err := openapi3.NewLoader().LoadFromData(openapi)
	if err != nil {
		return nil, fmt.Errorf("load openapi document: %w", err)
	}
	ws, err := renderWebSocket(asyncapi, spec)
	if err != nil {
		return nil, fmt.Errorf("render the websocket page: %w", err)
	}
	redocJS, err := docsassets.Files.ReadFile("redoc.standalone.js")
	if err != nil {
		return nil, fmt.Errorf("docs asset: %w", err)
	}
	redocLicense, err := docsassets.Files.ReadFile("redoc.LICENSE.txt")
	if err != nil {
		return nil, fmt.Errorf("docs asset: %w", err)
	}
	return &Pages{routes: []route{
		{"/docs", page("text/html; charset=utf-8", []byte(reference))},
		{"/docs/websocket", page("text/html; charset=utf-8", ws)},
		{"/docs/redoc.standalone.js", asset("text/javascript; charset=utf-8", redocJS)},
		{"/docs/redoc-init.js", asset("text/javascript; charset=utf-8", []byte(redocInit))},
		{"/docs/redoc.LICENSE.txt", asset("text/plain; charset=utf-8", redocLicense)},
	}}, nil
}

// Register adds /docs and its assets.
func (p *Pages) Register(e *echo.Echo) {
	for _, r := range p.routes {
		e.GET(r.path, r.handler)
	}
}

func page(contentType string, body []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set(echo.HeaderCacheControl, "no-cache")
		return c.Blob(http.StatusOK, contentType, body)
	}
}

// asset serves fixed bytes, revalidated by their ETag.
func asset(contentType string, body []byte) echo.HandlerFunc {
	etag := fmt.Sprintf(`"%x"`, fnv64(body))
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set(echo.HeaderCacheControl, "no-cache")
		h.Set("ETag", etag)
		if bytes.Contains([]byte(c.Request().Header.Get("If-None-Match")), []byte(etag)) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Blob(http.StatusOK, contentType, body)
	}
}

// fnv64 is the 64-bit FNV-1a hash of b.
func fnv64(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
