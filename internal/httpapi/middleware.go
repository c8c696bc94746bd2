package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"tim/internal/auth"
	"tim/internal/clientaddr"
)

// authState is what the auth middleware learned about a request's token.
type authState struct {
	source auth.Source
	err    error // nil when the token was verified
}

type authStateKey struct{}

func authStateFrom(ctx context.Context) authState {
	st, ok := ctx.Value(authStateKey{}).(authState)
	if !ok {
		return authState{err: auth.ErrNoToken}
	}
	return st
}

// authenticator verifies the request's token once, before validation, and
// leaves the claims in the request context for handlers. Whether a route
// needs a token is the contract's business (see authenticate).
func authenticator(v *auth.Verifier) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := clientaddr.With(req.Context(), c.RealIP())
			token, src := auth.TokenFromRequest(req)
			st := authState{source: src, err: auth.ErrNoToken}
			if token != "" {
				claims, err := v.Verify(ctx, token)
				switch {
				case err == nil:
					st.err = nil
					ctx = auth.WithClaims(ctx, claims)
				case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrExpiredToken), errors.Is(err, auth.ErrRevokedToken):
					st.err = err
				default:
					return err // the check itself failed: 500
				}
			}
			c.SetRequest(req.WithContext(context.WithValue(ctx, authStateKey{}, st)))
			return next(c)
		}
	}
}

// metrics counts requests and their latency by route and status.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tim_http_requests_total",
			Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tim_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// accessLog writes one line per request, and feeds the metrics. The query
// string is logged with any token redacted.
func accessLog(logger *slog.Logger, m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // render now so that the status below is final
			}
			req, res := c.Request(), c.Response()
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			status := strconv.Itoa(res.Status)
			elapsed := time.Since(start)
			m.requests.WithLabelValues(route, req.Method, status).Inc()
			m.latency.WithLabelValues(route, req.Method).Observe(elapsed.Seconds())
			logger.InfoContext(req.Context(), "request",
				slog.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.String("query", redactQuery(req.URL.RawQuery)),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("elapsed", elapsed),
				slog.String("client", c.RealIP()),
			)
			return nil
		}
	}
}

// redactQuery hides the values of token query parameters, whatever the
// case of their name (token, TOKEN, Token, ...).
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "(unparsable)"
	}
	for name, values := range q {
		if strings.EqualFold(name, "token") {
			for i := range values {
				values[i] = "***"
			}
		}
	}
	return q.Encode()
}
