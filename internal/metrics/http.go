package metrics

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// route is what the HTTP wrapper records for one path.
type route struct {
	limit  string // the limit a 429 on this path reports
	login  bool   // a 401 is a failed login
	hashes bool   // a 503 is a full hash queue
	upload string // the upload kind, for uploads
}

var routes = map[string]route{
	"/Tim/UserLogin":    {limit: limitLogin, login: true, hashes: true},
	"/Tim/UserRegister": {limit: limitRegistration, hashes: true},
	"/uploadheadpic":    {limit: limitUploads, upload: "avatar"},
	"/uploadchatpic":    {limit: limitUploads, upload: "chatpic"},
	"/uploadmp3":        {limit: limitUploads, upload: "mp3"},
	"/uploadmp4":        {limit: limitUploads, upload: "mp4"},
}

// HTTP wraps the HTTP handler to record failed logins, refusals by the
// login, registration, hash queue, upload and socket limits, and the
// bytes and durations of stored uploads. Other requests pass through
// untouched.
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := routes[r.URL.Path]
		if !ok && strings.HasPrefix(r.URL.Path, "/websocket/") {
			rt, ok = route{limit: limitSockets}, true
		}
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		var body *countingBody
		if rt.upload != "" && r.Body != nil {
			body = &countingBody{ReadCloser: r.Body}
			r.Body = body
		}
		next.ServeHTTP(sw, r)
		switch status := sw.status; {
		case status == http.StatusTooManyRequests:
			m.refused(rt.limit)
		case status == http.StatusServiceUnavailable && rt.hashes:
			m.refused(limitHashQueue)
		case status == http.StatusUnauthorized && rt.login:
			m.loginFailed()
		case status == http.StatusOK && body != nil:
			m.uploaded(rt.upload, body.n, time.Since(start))
		}
	})
}

// statusWriter notes the status of the response. Unwrap lets
// http.ResponseController reach the connection (deadlines, hijacking for
// WebSockets).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
