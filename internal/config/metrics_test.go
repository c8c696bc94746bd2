package config_test

import (
	"strings"
	"testing"
)

func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	c, err := load(map[string]string{"TIM_METRICS_ADDR": "127.0.0.1:9091"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MetricsAddr != "127.0.0.1:9091" {
		t.Errorf("MetricsAddr = %q", c.HTTP.MetricsAddr)
	}
	if out := logged(t, c); !strings.Contains(out, "metrics_addr=127.0.0.1:9091") {
		t.Errorf("metrics_addr not logged: %s", out)
	}
	if c, err := load(nil); err != nil || c.HTTP.MetricsAddr != "" {
		t.Errorf("default MetricsAddr = %q (%v), want empty: /metrics on the main port", c.HTTP.MetricsAddr, err)
	}
	for value, want := range map[string]string{
		"9091":      "TIM_METRICS_ADDR: want host:port",
		"localhost": "TIM_METRICS_ADDR: want host:port",
		":8081":     "TIM_METRICS_ADDR: must differ from TIM_ADDR",
	} {
		if _, err := load(map[string]string{"TIM_METRICS_ADDR": value}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", value, err, want)
		}
	}
}
