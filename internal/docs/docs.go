// Package docs serves Tim's contract documents and renders them for
// people: /openapi.yaml and /asyncapi.yaml are the documents the binary was
// built from; /docs renders the OpenAPI document with Redoc and
// /docs/websocket the AsyncAPI document with the AsyncAPI initiative's
// React component. Both renderers are pinned in web/package-lock.json,
// copied into gen/docsassets by make generate and embedded in the binary;
// the pages fetch nothing from elsewhere. The web client at / links to
// both.
package docs

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/http"

	"github.com/labstack/echo/v4"

	"tim/gen/docsassets"
)

// contentSecurityPolicy is /docs': it loads nothing from other hosts.
// Redoc's sidebar logo, the one remote resource in its bundle, is not
// fetched (img-src), and its search runs in a worker made from a blob: URL.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// webSocketPolicy is /docs/websocket's: script-src adds 'unsafe-eval', as
// the AsyncAPI parser in the component's bundle validates the document
// with JSON schemas that Ajv compiles into functions when it loads; no
// worker. The page shows only the embedded documents and loads nothing
// from other hosts either.
const webSocketPolicy = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
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

// webSocket is the /docs/websocket page: the AsyncAPI React component
// renders /asyncapi.yaml.
const webSocket = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tim WebSocket channels</title>
<link rel="stylesheet" href="/docs/asyncapi.default.min.css">
<style>body { margin: 0; padding: 0; } .tim-nav { font: 14px sans-serif; padding: 8px 16px; background: #f4f4f4; border-bottom: 1px solid #ddd; }</style>
</head>
<body>
<div class="tim-nav"><a href="/">Tim</a> · <a href="/docs">HTTP API</a> · WebSocket channels · <a href="/asyncapi.yaml">asyncapi.yaml</a> · <a href="/openapi.yaml">openapi.yaml</a></div>
<div id="asyncapi"></div>
<script src="/docs/asyncapi.standalone.js"></script>
<script src="/docs/asyncapi-init.js"></script>
</body>
</html>
`

// asyncAPIInit starts the component on /asyncapi.yaml, whose frames are
// schemas of ./openapi.yaml. The parser resolves that reference against
// the document's address, which must therefore be absolute (a path alone
// would be read as a file). Every message's examples are shown, expanded.
const asyncAPIInit = `AsyncApiStandalone.render({
  schema: { url: new URL("/asyncapi.yaml", document.baseURI).href, requestOptions: {} },
  config: {
    show: { sidebar: true, messageExamples: true },
    expand: { messageExamples: true }
  }
}, document.getElementById("asyncapi"));
`

// Pages are the contract documents, the rendered documentation pages and
// their handlers, made once (the bundles' ETags hash megabytes); they may
// be registered on any number of servers.
type Pages struct {
	routes []route
}

type route struct {
	path    string
	handler echo.HandlerFunc
}

// New serves openapi, the HTTP contract, and asyncapi, the WebSocket
// contract (whose frames are schemas of openapi), with their pages.
func New(openapi, asyncapi []byte) (*Pages, error) {
	bundled := map[string][]byte{}
	for _, name := range []string{"redoc.standalone.js", "redoc.LICENSE.txt", "asyncapi.standalone.js", "asyncapi.default.min.css", "asyncapi.LICENSE.txt"} {
		b, err := docsassets.Files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("docs asset: %w", err)
		}
		bundled[name] = b
	}
	const js, css, text = "text/javascript; charset=utf-8", "text/css; charset=utf-8", "text/plain; charset=utf-8"
	return &Pages{routes: []route{
		{"/openapi.yaml", document(openapi)},
		{"/asyncapi.yaml", document(asyncapi)},
		{"/docs", page(contentSecurityPolicy, reference)},
		{"/docs/redoc.standalone.js", asset(js, bundled["redoc.standalone.js"])},
		{"/docs/redoc-init.js", asset(js, []byte(redocInit))},
		{"/docs/redoc.LICENSE.txt", asset(text, bundled["redoc.LICENSE.txt"])},
		{"/docs/websocket", page(webSocketPolicy, webSocket)},
		{"/docs/asyncapi.standalone.js", asset(js, bundled["asyncapi.standalone.js"])},
		{"/docs/asyncapi.default.min.css", asset(css, bundled["asyncapi.default.min.css"])},
		{"/docs/asyncapi-init.js", asset(js, []byte(asyncAPIInit))},
		{"/docs/asyncapi.LICENSE.txt", asset(text, bundled["asyncapi.LICENSE.txt"])},
	}}, nil
}

// Register adds the documents, /docs and its assets.
func (p *Pages) Register(e *echo.Echo) {
	for _, r := range p.routes {
		e.GET(r.path, r.handler)
	}
}

// document serves a contract document as it is embedded.
func document(body []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", body)
	}
}

// page serves an HTML page under its policy.
func page(policy, body string) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set(echo.HeaderCacheControl, "no-cache")
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", []byte(body))
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
