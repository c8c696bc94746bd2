// Package clientaddr carries the client's address, as the HTTP layer
// determined it (X-Forwarded-For only from trusted proxies), to handlers.
package clientaddr

import "context"

type ctxKey struct{}

// With returns a context carrying addr.
func With(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, ctxKey{}, addr)
}

// From returns the client's address, or "" when unknown.
func From(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}
