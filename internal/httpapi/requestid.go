package httpapi

import (
	"crypto/rand"

	"github.com/labstack/echo/v4"
)

// maxRequestIDLen bounds a client-chosen request id, in bytes.
const maxRequestIDLen = 64

// requestID gives every request an id, sent back in X-Request-Id and
// logged with the request. The client's own id is kept only when it is
// short and printable (validRequestID): it is written into every log line
// of the request, so a long or multi-line value could forge or flood them.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = rand.Text()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// validRequestID reports whether id has 1 to maxRequestIDLen bytes, each
// printable ASCII other than space.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
