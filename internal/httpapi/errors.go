package httpapi

import (
	"errors"
	"fmt"
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
			_ = writeEnvelope(c, http.StatusRequestTimeout, msgBodyTimeout)
		case errors.Is(err, http.ErrMissingBoundary), errors.Is(err, http.ErrNotMultipart):
			_ = writeEnvelope(c, http.StatusBadRequest, fmt.Sprintf(msgParamInvalid, echo.HeaderContentType, msgNoBoundary))
		case errors.As(err, &he) && he.Code < 500:
			_ = writeEnvelope(c, he.Code, httpErrorMessage(he))
		default:
			logger.ErrorContext(c.Request().Context(), "request failed",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("route", c.Path()),
				slog.Any("err", err))
			_ = writeEnvelope(c, http.StatusInternalServerError, msgInternal)
		}
	}
}

// httpErrorMessage picks a Chinese message for Echo's own errors.
func httpErrorMessage(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusNotFound:
		return msgNotFound
	case http.StatusMethodNotAllowed:
		return msgMethod
	case http.StatusRequestEntityTooLarge:
		return reply.BodyTooLarge.Message
	case http.StatusUnsupportedMediaType:
		return msgMediaType
	case http.StatusBadRequest:
		if s, ok := he.Message.(string); ok && s != "" {
			return msgBadRequest + "：" + s
		}
		return msgBadRequest
	}
	if s, ok := he.Message.(string); ok {
		return s
	}
	return http.StatusText(he.Code)
}
