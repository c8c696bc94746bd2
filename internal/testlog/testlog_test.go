package testlog

import (
	"fmt"
	"regexp"
	"testing"
	"time"
)

func TestBufferWaitSeesALaterLine(t *testing.T) {
	t.Parallel()
	var b Buffer
	fmt.Fprintln(&b, "msg=starting")
	from := len(b.String())
	go func() { fmt.Fprintln(&b, "msg=listening addr=127.0.0.1:8081") }()
	m := b.Wait(t, 10*time.Second, from, regexp.MustCompile(`msg=listening addr=(\S+)`))
	if m[1] != "127.0.0.1:8081" {
		t.Fatalf("submatches %q", m)
	}
}

func TestLoggerWritesToTheTestLog(t *testing.T) {
	t.Parallel()
	Logger(t, 0).Info("seen in the test log")
}
