package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tim/internal/config"
)

// bodyDeadlines puts a read deadline on the connection of every request
// with a body. A body that is not a multipart upload must arrive whole
// within l.BodyTimeout. An upload has no fixed deadline, since a large file
// on a slow line may rightly take long: its deadline is l.UploadMinWindow
// ahead and moves forward each time another l.UploadMinBytes have arrived,
// so it expires only when fewer than l.UploadMinBytes arrive in
// l.UploadMinWindow. A zero BodyTimeout, UploadMinBytes or UploadMinWindow
// turns the matching bound off. A read past the
// deadline fails with an error matching os.ErrDeadlineExceeded, which the
// validator and the upload handlers answer with 408, and the response
// closes the connection.
//
// Requests without a body pass untouched: for them net/http already
// watches the connection in the background, and a deadline would end that
// watch and cancel the request. That includes every WebSocket handshake (a
// GET without a body), so a hijacked connection starts without a deadline
// and the realtime service sets its own. A request that asks for an upgrade
// but carries a body gets the deadline all the same, so that the Upgrade
// header cannot buy a slow body unlimited time. Once a body has been read
// to its end, net/http clears the deadline itself before the handler
// carries on.
func bodyDeadlines(l config.HTTP) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
				return next(c)
			}
			b := &deadlineBody{ReadCloser: req.Body, rc: http.NewResponseController(c.Response()), header: c.Response().Header()}
			wait := l.BodyTimeout
			if strings.HasPrefix(mediaType(req.Header.Get(echo.HeaderContentType)), "multipart/") {
				b.minBytes, b.window = l.UploadMinBytes, l.UploadMinWindow
				wait = l.UploadMinWindow
				if l.UploadMinBytes <= 0 {
					wait = 0
				}
			}
			if wait <= 0 {
				return next(c)
			}
			if err := b.rc.SetReadDeadline(time.Now().Add(wait)); err != nil {
				// Only a ResponseWriter that is not net/http's (a test
				// recorder) cannot take deadlines; there is no
				// connection to protect then.
				return next(c)
			}
			req.Body = b
			return next(c)
		}
	}
}

// deadlineBody is a request body read under a connection read deadline.
// With minBytes set, it moves the deadline window ahead each time minBytes
// more have arrived.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	header http.Header

	minBytes int64
	window   time.Duration
	got      int64 // bytes since the deadline last moved
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil && b.minBytes > 0:
		// Only while the body goes on: with its last bytes net/http
		// starts its background read, which must not get a deadline.
		b.got += int64(n)
		if b.got >= b.minBytes {
			b.got = 0
			_ = b.rc.SetReadDeadline(time.Now().Add(b.window))
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The rest of the body may still be on its way: the connection
		// cannot carry another request.
		b.header.Set(echo.HeaderConnection, "close")
	}
	return n, err
}

// isBodyTimeout reports whether err comes from a body that missed its
// deadline.
func isBodyTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
