package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestRecallWindow(t *testing.T) {
	t.Parallel()
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Realtime.RecallWindow != 2*time.Minute {
		t.Errorf("default recall window %v, want 2m", c.Realtime.RecallWindow)
	}
	if c, err = load(map[string]string{"TIM_RECALL_WINDOW": "30s"}); err != nil || c.Realtime.RecallWindow != 30*time.Second {
		t.Errorf("TIM_RECALL_WINDOW=30s: %v, %v", c.Realtime.RecallWindow, err)
	}
	if !strings.Contains(logged(t, c), "recall_window=30s") {
		t.Errorf("recall window not logged: %s", logged(t, c))
	}
	for _, v := range []string{"0", "-1m", "two minutes"} {
		if _, err := load(map[string]string{"TIM_RECALL_WINDOW": v}); err == nil || !strings.Contains(err.Error(), "TIM_RECALL_WINDOW") {
			t.Errorf("TIM_RECALL_WINDOW=%q: err = %v", v, err)
		}
	}
}
