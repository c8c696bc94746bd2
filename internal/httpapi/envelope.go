package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tim/internal/reply"
)

// envelope is the body of every JSON response: code equals the HTTP status.
type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// msgOK answers the health checks.
const msgOK = "ok"

// writeRefusal writes refusal r in the envelope: every refusal made
// outside the operations' handlers is written here.
func writeRefusal(c echo.Context, r reply.Refusal) error {
	if c.Response().Committed {
		return nil
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(int(r.Code))
	}
	return c.JSON(int(r.Code), envelope{Code: int(r.Code), Message: r.Message})
}
