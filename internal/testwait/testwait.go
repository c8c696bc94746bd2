// Package testwait is how tests wait for a state that nothing signals: a
// row another goroutine writes, a log line, a process that ends, a metric.
// Where the code under test can say when the awaited thing happened, a
// test waits on that signal instead (package testsignal).
package testwait

import (
	"testing"
	"time"
)

// Eventually calls cond until it returns nil (see For), and fails t with
// cond's last error, which should say what was seen and what was wanted,
// when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := For(timeout, cond); err != nil {
		t.Fatalf("not within %v: %v", timeout, err)
	}
}

// For calls cond until it returns nil: at once, then after pauses that
// grow from 1 ms to 50 ms. It returns cond's last error when timeout passes
// first, for a test that reports a wait in vain without stopping.
func For(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
	}
}
