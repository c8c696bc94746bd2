// Package clientaddr carries the client's address in a request's context,
// from the HTTP layer that determines it to the domain code that limits by
// it (failed logins and registrations per address), so that the domain
// code need not import the HTTP stack.
package clientaddr

import "context"

type key struct{}

// With returns a context carrying the client's address, as the HTTP layer
// determined it (X-Forwarded-For only from trusted proxies).
func With(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, key{}, addr)
}

// From returns the client's address carried by ctx, or "" when unknown.
func From(ctx context.Context) string {
	s, _ := ctx.Value(key{}).(string)
	return s
}
