// Package testsignal lets production code tell a test that something it
// waits for has happened, as river's testsignal does: a Signal is a field
// of the code's own struct, does nothing unless a test has called Init,
// and the test waits on it instead of sleeping and hoping.
package testsignal

import (
	"sync/atomic"
	"time"
)

// Wait is how long WaitOrTimeout waits.
const Wait = 10 * time.Second

// buffered is how many signals a Signal holds before the code that
// signals is found not to be waited on.
const buffered = 1000

// Signal carries values of T from the code to a test. The zero Signal is
// unarmed, and so is a nil one.
type Signal[T any] struct {
	ch atomic.Pointer[chan T]
}

// Init arms s, also while the code that signals runs: values signalled
// before are lost.
func (s *Signal[T]) Init() {
	ch := make(chan T, buffered)
	s.ch.Store(&ch)
}

// Signal sends v to the waiting test; unarmed it does nothing. It never
// blocks: a full buffer panics, as it means a test that armed s does not
// read it.
func (s *Signal[T]) Signal(v T) {
	if s == nil {
		return
	}
	ch := s.ch.Load()
	if ch == nil {
		return
	}
	select {
	case *ch <- v:
	default:
		panic("testsignal: buffer full: the test does not read this signal")
	}
}

// TB is the part of testing.TB that WaitOrTimeout needs, so that
// production code does not import package testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// WaitOrTimeout returns the next value signalled, failing t when none
// comes within Wait.
func (s *Signal[T]) WaitOrTimeout(t TB) T {
	t.Helper()
	ch := s.ch.Load()
	if ch == nil {
		t.Fatalf("testsignal: a wait on a signal never armed")
		var zero T
		return zero
	}
	select {
	case v := <-*ch:
		return v
	case <-time.After(Wait):
		t.Fatalf("no signal within %v", Wait)
	}
	var zero T
	return zero
}
