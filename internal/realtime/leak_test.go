package realtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"tim/internal/testwait"
)

// The goroutine label that marks what a test started: a goroutine inherits
// the labels of the goroutine that starts it, so every goroutine the test
// starts, and every one those start (servers, hubs, connections, the bus),
// carries the test's name. Unlike a comparison with the goroutines that ran
// before the test, this tells a test's goroutines from those of the tests
// running in parallel with it.
const leakLabel = "tim_realtime_test"

// leakChecked holds the tests whose goroutines are already checked.
var leakChecked sync.Map

// leakSettle is how long a test's goroutines may take to end after its
// cleanups returned.
const leakSettle = time.Second

// checkLeaks fails t when goroutines started by t (from the call on) still
// run once every cleanup registered after this call has returned. It is
// idempotent per test: the first call's check runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	if _, dup := leakChecked.LoadOrStore(t, true); dup {
		return
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(leakLabel, t.Name())))
	t.Cleanup(func() {
		defer leakChecked.Delete(t)
		pprof.SetGoroutineLabels(context.Background()) // the test's own goroutine runs the cleanups
		err := testwait.For(leakSettle, func() error {
			if leaked := goroutinesLabelled(t.Name()); leaked != "" {
				return errors.New(leaked)
			}
			return nil
		})
		if err != nil {
			t.Errorf("goroutines started by the test still run %v after it ended:\n%v", leakSettle, err)
		}
	})
}

// goroutinesLabelled returns the stacks of the running goroutines labelled
// with test's name, or "" when there are none.
func goroutinesLabelled(test string) string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return fmt.Sprintf("goroutine profile: %v", err)
	}
	// debug=1: a header, then one blank-line-separated block per distinct
	// stack: "<count> @ <pcs>", "# labels: {...}" when labelled, frames.
	want := fmt.Sprintf("%q:%q", leakLabel, test)
	var leaked []string
	for _, block := range strings.Split(buf.String(), "\n\n") {
		for _, line := range strings.Split(block, "\n") {
			if strings.HasPrefix(line, "# labels: ") && strings.Contains(line, want) {
				leaked = append(leaked, block)
				break
			}
		}
	}
	return strings.Join(leaked, "\n\n")
}

// TestLeakCheckSeesWhatATestStarts: goroutines started by a checked test,
// directly or by goroutines it started, are seen as the test's, and only
// as that test's.
func TestLeakCheckSeesWhatATestStarts(t *testing.T) {
	t.Parallel()
	checkLeaks(t)
	stop, done := make(chan struct{}), make(chan struct{})
	started := make(chan struct{})
	go func() {
		go func() { defer close(done); close(started); <-stop }()
	}()
	<-started
	if goroutinesLabelled(t.Name()) == "" {
		t.Error("a goroutine started by a goroutine the test started is not seen as the test's")
	}
	if got := goroutinesLabelled(t.Name() + "Other"); got != "" {
		t.Errorf("the test's goroutine is seen as another test's:\n%s", got)
	}
	close(stop)
	<-done
}
