// Package deploy holds what an operator needs to run Tim behind a reverse
// proxy: nginx.conf and Caddyfile, usable as they are. Its tests start
// Tim, a private nginx and a private Caddy with these very files (only
// ports, upstream, paths and the read timeout substituted) and drive the
// whole API through each proxy.
package deploy
