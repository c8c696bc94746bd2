package httpapi

import "context"

type clientAddrKey struct{}

// WithClientAddr returns a context carrying the client's address, as the
// HTTP layer determined it (X-Forwarded-For only from trusted proxies).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the client's address carried by ctx, or "" when
// unknown.
func ClientAddr(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}
