package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"tim/internal/reply"
)

// CORS settings that do not depend on the deployment.
const (
	// corsAllowHeaders are the request headers a page may send: the two
	// ways of carrying the token, JSON bodies, and the conditional and
	// range headers of downloads.
	corsAllowHeaders = "token, Authorization, Content-Type, Range, If-Range, If-None-Match, If-Modified-Since"
	// corsExposeHeaders are the response headers a page may read besides
	// the always-visible ones.
	corsExposeHeaders = "Retry-After, ETag, Content-Disposition, X-Request-Id"
	// corsMaxAge is how long, in seconds, a browser may reuse a preflight.
	corsMaxAge = 600
)

// cors lets pages of the allowed origins call the contract's operations
// from another origin: it answers their preflights with the methods the
// contract gives each path, and marks every response to them. Requests of
// any other origin get no Access-Control-* header at all, so that browsers
// refuse them; an empty list means same origin only.
type cors struct {
	origins []string // exact origins, lower case; "*" allows every origin
	routes  []corsRoute
}

// corsRoute is one path of the contract and the methods it has there.
type corsRoute struct {
	segments []string // a segment "{...}" matches any one segment
	methods  string   // "GET, POST"
}

// newCORS builds the policy for origins from the contract's paths.
func newCORS(origins []string, spec *openapi3.T) *cors {
	c := &cors{}
	for _, o := range origins {
		c.origins = append(c.origins, strings.ToLower(strings.TrimSpace(o)))
	}
	for path, item := range spec.Paths.Map() {
		var methods []string
		for m := range item.Operations() {
			methods = append(methods, strings.ToUpper(m))
		}
		slices.Sort(methods)
		c.routes = append(c.routes, corsRoute{
			segments: strings.Split(strings.Trim(path, "/"), "/"),
			methods:  strings.Join(methods, ", "),
		})
	}
	return c
}

// allows reports whether pages of origin may call the API.
func (c *cors) allows(origin string) bool {
	if origin == "" {
		return false
	}
	origin = strings.ToLower(origin)
	for _, o := range c.origins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// methods returns the contract's methods for path, or "" when the contract
// has no such path.
func (c *cors) methods(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range c.routes {
		if len(r.segments) != len(segs) {
			continue
		}
		match := true
		for i, s := range r.segments {
			if s != segs[i] && !(strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")) {
				match = false
				break
			}
		}
		if match {
			return r.methods
		}
	}
	return ""
}

func (c *cors) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	if len(c.origins) == 0 {
		return next // same origin only: nothing to add
	}
	return func(ctx echo.Context) error {
		req := ctx.Request()
		h := ctx.Response().Header()
		// Whether a response carries the CORS headers depends on Origin:
		// caches must not hand one origin's answer to another.
		h.Add(echo.HeaderVary, echo.HeaderOrigin)
		origin := req.Header.Get(echo.HeaderOrigin)
		allowed := c.allows(origin)

		if req.Method == http.MethodOptions && origin != "" && req.Header.Get(echo.HeaderAccessControlRequestMethod) != "" {
			methods := c.methods(req.URL.Path)
			if methods == "" {
				return next(ctx) // not the contract's: 404 or 405 as usual
			}
			if !allowed {
				return writeRefusal(ctx, reply.OriginRefused)
			}
			h.Set(echo.HeaderAccessControlAllowOrigin, origin)
			h.Set(echo.HeaderAccessControlAllowMethods, methods)
			h.Set(echo.HeaderAccessControlAllowHeaders, corsAllowHeaders)
			h.Set(echo.HeaderAccessControlMaxAge, strconv.Itoa(corsMaxAge))
			return ctx.NoContent(http.StatusNoContent)
		}
		if allowed {
			h.Set(echo.HeaderAccessControlAllowOrigin, origin)
			h.Set(echo.HeaderAccessControlExposeHeaders, corsExposeHeaders)
		}
		return next(ctx)
	}
}
