// Package httpapi assembles Tim's HTTP surface: the generated routes with
// their strict handlers, request validation against the contract, the
// WebSocket routes, health, metrics and the contract documents, behind one
// middleware chain.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tim/api"
	"tim/gen/server"
	"tim/internal/auth"
	"tim/internal/config"
	"tim/internal/docs"
	"tim/internal/reply"
	"tim/internal/webapp"
)

// Options are what the HTTP surface is built from.
type Options struct {
	Logger   *slog.Logger
	Verifier *auth.Verifier
	// Handler implements every operation of the contract.
	Handler server.StrictServerInterface
	// Registry receives the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
	// HTTP is the configuration's HTTP section: the proxies that may set
	// X-Forwarded-For, the browser origins whose pages may call the API
	// from another origin (CORS), the bounds on request bodies, and, with
	// MetricsAddr set, that another listener serves /metrics.
	HTTP config.HTTP
	// MaxMultipartBody limits whole multipart bodies, in bytes.
	MaxMultipartBody int64
	// Mount registers routes outside the contract (the WebSockets).
	Mount func(e *echo.Echo)
}

// New returns the HTTP handler. Routes, top to bottom: the contract's
// operations, the WebSockets, /metrics, the contract documents and their
// rendered pages under /docs (package docs), and the web chat client at /.
func New(o Options) (*echo.Echo, error) {
	c, err := loadContract()
	if err != nil {
		return nil, err
	}
	val := &validator{router: c.router, maxJSONBody: o.HTTP.MaxJSONBody, maxMultipartBody: o.MaxMultipartBody}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(o.Logger)
	e.IPExtractor = ipExtractor(o.HTTP.TrustedProxies)

	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}))
	e.Use(requestID)
	e.Use(accessLog(o.Logger, newMetrics(o.Registry)))
	e.Use(newCORS(o.HTTP.AllowedOrigins, c.spec).middleware)
	e.Use(bodyDeadlines(o.HTTP))
	e.Use(authenticator(o.Verifier))
	e.Use(val.middleware)

	server.RegisterHandlers(e, server.NewStrictHandler(o.Handler, nil))
	if o.Mount != nil {
		o.Mount(e)
	}
	if o.HTTP.MetricsAddr == "" { // else another listener serves it
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{})))
	}
	c.pages.Register(e)
	if err := webapp.Register(e); err != nil {
		return nil, err
	}
	return e, nil
}

// contract is what every server derives from the embedded documents: the
// parsed OpenAPI document, its router and the rendered documentation pages.
// Parsing takes tens of milliseconds, so it is done once per process; all
// three are only read after.
type contract struct {
	spec   *openapi3.T
	router routers.Router
	pages  *docs.Pages
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	spec, err := server.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("load embedded openapi spec: %w", err)
	}
	spec.Servers = nil // match paths whatever host the server is reached at
	r, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("build openapi router: %w", err)
	}
	pages, err := docs.New(api.OpenAPI, api.AsyncAPI)
	if err != nil {
		return nil, fmt.Errorf("documentation pages: %w", err)
	}
	return &contract{spec: spec, router: r, pages: pages}, nil
})

// ipExtractor believes X-Forwarded-For only from trusted proxies.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(prefixToIPNet(p)))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Connector reports whether the bus between instances is connected.
type Connector interface {
	Connected() bool
}

// Checker reports whether a store (the media store) answers.
type Checker interface {
	Check(ctx context.Context) error
}

// Ops implements the health operations of the contract.
type Ops struct {
	DB Pinger
	// Bus, when set, must be connected for the instance to be ready: an
	// instance cut off from the others would deliver nothing they send.
	Bus Connector
	// Media, when set, must answer: an instance that cannot read the
	// media store would fail every download.
	Media Checker
}

// Healthz answers while the process is up.
func (o *Ops) Healthz(ctx context.Context, _ server.HealthzRequestObject) (server.HealthzResponseObject, error) {
	return reply.New(http.StatusOK, msgOK), nil
}

// Readyz answers 200 when the database is reachable, the bus connected and
// the media store answers.
func (o *Ops) Readyz(ctx context.Context, _ server.ReadyzRequestObject) (server.ReadyzResponseObject, error) {
	if err := o.DB.Ping(ctx); err != nil {
		return reply.DatabaseUnavailable.Envelope(), nil
	}
	if o.Bus != nil && !o.Bus.Connected() {
		return reply.BusUnavailable.Envelope(), nil
	}
	if o.Media != nil {
		if err := o.Media.Check(ctx); err != nil {
			return reply.MediaStoreUnavailable.Envelope(), nil
		}
	}
	return reply.New(http.StatusOK, msgOK), nil
}
