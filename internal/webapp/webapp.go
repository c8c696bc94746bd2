// Package webapp serves Tim's web chat client at /: a page, its script (the
// TypeScript of web/app and web/client, bundled by make generate into
// gen/webassets), its style sheet and icon, all embedded in the binary. The
// client is same-origin: it calls the API and opens its socket on the
// server that served it.
package webapp

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/http"

	"github.com/labstack/echo/v4"

	"tim/gen/webassets"
)

// contentSecurityPolicy lets the page load only its own script and style
// sheet (no inline script or style), pictures from this server, and
// connect (fetch, WebSocket) only to this server.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"media-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// Register adds / and the client's assets under /app/.
func Register(e *echo.Echo) error {
	for _, a := range []struct{ path, file, contentType string }{
		{"/", "index.html", "text/html; charset=utf-8"},
		{"/app/app.js", "app.js", "text/javascript; charset=utf-8"},
		{"/app/app.css", "app.css", "text/css; charset=utf-8"},
		{"/app/favicon.svg", "favicon.svg", "image/svg+xml"},
	} {
		body, err := webassets.Files.ReadFile(a.file)
		if err != nil {
			return fmt.Errorf("web client asset %s: %w", a.file, err)
		}
		e.GET(a.path, serve(a.contentType, body))
	}
	return nil
}

// serve answers with fixed bytes, revalidated by their ETag, so that a new
// build is picked up at once.
func serve(contentType string, body []byte) echo.HandlerFunc {
	etag := fmt.Sprintf(`"%x"`, fnv64(body))
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
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
