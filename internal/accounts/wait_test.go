package accounts

import (
	"testing"
	"time"
)

func TestWaitWithin(t *testing.T) {
	const window = 15 * time.Minute
	for _, c := range []struct{ d, want time.Duration }{
		{0, time.Second},
		{-time.Second, time.Second},
		{90 * time.Second, 90 * time.Second},
		{window, window},
		{window + 300*time.Millisecond, window},
	} {
		if got := waitWithin(c.d, window); got != c.want {
			t.Errorf("waitWithin(%v, %v) = %v, want %v", c.d, window, got, c.want)
		}
	}
}
