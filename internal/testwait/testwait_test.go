package testwait

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	calls := 0
	err := For(time.Minute, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
	}
}

func TestForReturnsTheLastErrorAfterTheTimeout(t *testing.T) {
	t.Parallel()
	calls := 0
	err := For(20*time.Millisecond, func() error { calls++; return fmt.Errorf("call %d", calls) })
	if want := fmt.Sprintf("call %d", calls); err == nil || err.Error() != want || calls < 2 {
		t.Fatalf("err %v after %d calls, want %q", err, calls, want)
	}
}

// fatalTB records a failure instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()                        {}
func (f *fatalTB) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...) }

func TestEventuallyFailsWithTheLastError(t *testing.T) {
	t.Parallel()
	f := &fatalTB{TB: t}
	Eventually(f, time.Millisecond, func() error { return errors.New("cursor 2, want 3") })
	if f.msg != "not within 1ms: cursor 2, want 3" {
		t.Fatalf("failed with %q", f.msg)
	}
}
