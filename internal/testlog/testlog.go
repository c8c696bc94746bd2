// Package testlog is where tests put what the code under test logs: in the
// test's own log (Logger), or in a Buffer that the test reads and waits on.
package testlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tim/internal/testwait"
)

// Logger returns a text logger of level and above that writes to t's log
// while t runs, and to stderr once it has ended (goroutines that outlive
// a test may still log, and t.Log would panic).
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	w := &writer{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type writer struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		fmt.Fprint(os.Stderr, string(p))
		return len(p), nil
	}
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Buffer is a log that the code under test writes and the test reads, on
// any goroutines. The zero Buffer is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Wait waits up to timeout for re to match the log past its first from
// bytes and returns the submatches; when timeout passes first it fails t
// and shows that part of the log.
func (b *Buffer) Wait(t testing.TB, timeout time.Duration, from int, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	testwait.Eventually(t, timeout, func() error {
		s := b.String()[from:]
		if m = re.FindStringSubmatch(s); m == nil {
			return fmt.Errorf("no log line matching %s:\n%s", re, s)
		}
		return nil
	})
	return m
}
