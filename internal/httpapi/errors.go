package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"tim/internal/reply"
)

// errorHandler renders every error that reaches Echo in the envelope. An
// echo.HTTPError keeps its status; anything else is unexpected: it is logged
// with the request id and answered with a bare 500.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var he *echo.HTTPError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			_ = writeRefusal(c, reply.BodyTooLarge)
		case isBodyTimeout(err):
			_ = writeRefusal(c, reply.BodyTimeout)
		case errors.Is(err, http.ErrMissingBoundary), errors.Is(err, http.ErrNotMultipart):
			_ = writeRefusal(c, reply.NoBoundary)
		case errors.As(err, &he) && he.Code < 500:
			_ = writeRefusal(c, httpErrorRefusal(he))
		default:
			logger.ErrorContext(c.Request().Context(), "request failed",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("route", c.Path()),
				slog.Any("err", err))
			_ = writeRefusal(c, reply.Internal)
		}
	}
}

// httpErrorRefusal is the refusal of Echo's own errors: the vocabulary's
// for the statuses Echo raises, else the status with Echo's message.
func httpErrorRefusal(he *echo.HTTPError) reply.Refusal {
	switch he.Code {
	case http.StatusNotFound:
		return reply.NoRoute
	case http.StatusMethodNotAllowed:
		return reply.MethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return reply.BodyTooLarge
	case http.StatusUnsupportedMediaType:
		return reply.UnsupportedMediaType
	case http.StatusBadRequest:
		if s, ok := he.Message.(string); ok && s != "" {
			return reply.BadRequestWith(s)
		}
		return reply.BadRequest
	}
	msg, ok := he.Message.(string)
	if !ok {
		msg = http.StatusText(he.Code)
	}
	return reply.Refusal{Code: int32(he.Code), Message: msg}
}
