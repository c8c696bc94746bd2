package media_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tim/internal/config"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
)

// rawUpload is an upload written by hand on its own TCP connection, so that
// a test decides when each byte leaves.
type rawUpload struct {
	conn net.Conn
	br   *bufio.Reader
	body []byte
}

// startRawUpload sends the request head of an upload of data to path;
// with expectContinue it asks the server to confirm before the body.
func (b bundle) startRawUpload(t *testing.T, path string, data []byte, expectContinue bool) *rawUpload {
	t.Helper()
	ct, body := form(t, "a.mp4", data)
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: tim\r\ntoken: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, b.token, ct, len(body))
	if expectContinue {
		head += "Expect: 100-continue\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return &rawUpload{conn: conn, br: bufio.NewReader(conn), body: body}
}

// answer reads the server's final answer.
func (u *rawUpload) answer() (*http.Response, reply, error) {
	_ = u.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		res, err := http.ReadResponse(u.br, nil)
		if err != nil {
			return nil, reply{}, fmt.Errorf("read answer: %w", err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, reply{}, fmt.Errorf("read answer: %w", err)
		}
		if res.StatusCode == http.StatusContinue {
			continue
		}
		r := reply{Status: res.StatusCode}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, reply{}, fmt.Errorf("status %d, body %q: %w", res.StatusCode, raw, err)
		}
		return res, r, nil
	}
}

// TestSlowUploadIsAborted: an upload that delivers fewer than
// TIM_UPLOAD_MIN_BYTES per TIM_UPLOAD_MIN_WINDOW is answered 408 and its
// connection closed, and nothing of it is kept: no row, no blob, no
// temporary file.
func TestSlowUploadIsAborted(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.WithConfig(func(c *config.Config) {
		c.HTTP.UploadMinBytes = 64 << 10
		c.HTTP.UploadMinWindow = time.Second
	}))
	u := b.startRawUpload(t, "/uploadmp4", snifftestdata.MP4(1<<20), false)
	// A fast start (past the sniffed head), then 2 KB/s.
	if _, err := u.conn.Write(u.body[:100<<10]); err != nil {
		t.Fatal(err)
	}
	answered := make(chan struct{})
	var res *http.Response
	var r reply
	var answerErr error
	go func() {
		defer close(answered)
		res, r, answerErr = u.answer()
	}()
	start := time.Now()
	rest := u.body[100<<10 : len(u.body)-1] // never the last byte
trickle:
	for len(rest) > 0 {
		select {
		case <-answered:
			break trickle
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(start) > 8*time.Second {
			t.Fatalf("upload at 2 KB/s still going after %v (minimum 64 KiB per 1s)", time.Since(start))
		}
		if _, err := u.conn.Write(rest[:200]); err != nil {
			break // cut off; the answer tells why
		}
		rest = rest[200:]
	}
	<-answered
	if answerErr != nil {
		t.Fatal(answerErr)
	}
	t.Logf("aborted after %v", time.Since(start).Round(time.Millisecond))
	if r.Status != http.StatusRequestTimeout || r.Code != 408 || r.Message == "" {
		t.Fatalf("answer %+v", r)
	}
	if !res.Close {
		t.Error("the 408 does not close the connection")
	}
	b.assertNothingStored(t)
}

// pacedReader reads r, pausing before each chunk bytes.
type pacedReader struct {
	r     io.Reader
	chunk int
	pause time.Duration
	left  int // of the current chunk
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		time.Sleep(p.pause) // the scenario: a client that uploads slowly
		p.left = p.chunk
	}
	n, err := p.r.Read(b[:min(len(b), p.left)])
	p.left -= n
	return n, err
}

// TestUploadAboveTheMinimumRate: the minimum rate is a rate, not a
// deadline: an upload that takes several windows, each bringing enough
// bytes, is stored whole; so is an ordinary fast one.
func TestUploadAboveTheMinimumRate(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.WithConfig(func(c *config.Config) {
		c.HTTP.UploadMinBytes = 64 << 10
		c.HTTP.UploadMinWindow = time.Second
	}))
	data := snifftestdata.MP4(800 << 10)
	ct, body := form(t, "a.mp4", data)
	setLength := func(_ context.Context, req *http.Request) error {
		req.ContentLength = int64(len(body))
		return nil
	}
	start := time.Now()
	res, err := b.env.Client.UploadMp4WithBodyWithResponse(context.Background(), ct,
		&pacedReader{r: bytes.NewReader(body), chunk: 100 << 10, pause: 300 * time.Millisecond},
		testenv.Auth(b.token), setLength)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("paced upload: status %d: %s", res.StatusCode(), res.Body)
	}
	t.Logf("paced upload took %v (window 1s)", time.Since(start).Round(time.Millisecond))
	if _, got := b.download(t, opMP4, res.JSON200.Data, cond{}); !bytes.Equal(got, data) {
		t.Error("paced upload did not round-trip")
	}
	b.mustUpload(t, opMP4, "b.mp4", snifftestdata.MP4(2<<20))
}

// TestConcurrentUploadsPerAccount: an account may have
// TIM_UPLOADS_PER_ACCOUNT uploads in flight; one more is answered 429 with
// Retry-After, other accounts are not affected, and the slot is free again
// once an upload ends.
func TestConcurrentUploadsPerAccount(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.WithConfig(func(c *config.Config) { c.Media.UploadsPerAccount = 1 }))
	bob := bundle{env: b.env, account: "bob", token: b.env.Register(t, "bob"), pool: b.pool}
	data := snifftestdata.MP4(64 << 10)

	// The server asks for the body once the handler holds the slot.
	first := b.startRawUpload(t, "/uploadmp4", data, true)
	_ = first.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := first.br.ReadString('\n'); err != nil || !strings.Contains(line, " 100 ") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if _, err := first.br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	ct, body := form(t, "b.mp4", data)
	res, err := b.env.Client.UploadMp4WithBodyWithResponse(context.Background(), ct, bytes.NewReader(body), testenv.Auth(b.token))
	if err != nil {
		t.Fatal(err)
	}
	e := envelopeOf(t, res.Body)
	if res.StatusCode() != http.StatusTooManyRequests || e.Code != 429 || e.Message == "" {
		t.Fatalf("second upload: status %d: %s", res.StatusCode(), res.Body)
	}
	if ra := res.HTTPResponse.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	bob.mustUpload(t, opMP4, "c.mp4", data)

	if _, err := first.conn.Write(first.body); err != nil {
		t.Fatal(err)
	}
	if _, r, err := first.answer(); err != nil || r.Status != http.StatusOK {
		t.Fatalf("first upload: %+v %v", r, err)
	}
	b.mustUpload(t, opMP4, "d.mp4", data)
}
