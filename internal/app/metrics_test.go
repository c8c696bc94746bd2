package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tim/internal/app"
	"tim/internal/testdb"
	"tim/internal/testlog"
	"tim/internal/testwait"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestMetricsAddr: with TIM_METRICS_ADDR, /metrics is served on that
// listener only, and it stops with the server.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{
		"TIM_DATABASE_URL": testdb.New(t), "TIM_DATA_DIR": t.TempDir(),
		"TIM_JWT_SECRET": "test-secret-0123456789abcdefghijklmnop",
		"TIM_ADDR":       addr, "TIM_METRICS_ADDR": metricsAddr,
		"TIM_PASSWORD_MEMORY_KIB": "64", "TIM_PASSWORD_TIME": "1", // cheap hashes
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var log testlog.Buffer
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx, []string{"tim"}, func(k string) string { return env[k] }, &log, &log) }()
	testwait.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("Run ended: %v\n%s", err, log.String())
		default:
		}
		if err := ready("http://" + addr); err != nil {
			return fmt.Errorf("%w; the log:\n%s", err, log.String())
		}
		return nil
	})

	if code, _ := get(t, "http://"+addr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("main port /metrics: %d, want 404 when TIM_METRICS_ADDR is set", code)
	}
	code, body := get(t, "http://"+metricsAddr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics port /metrics: %d %s", code, body)
	}
	for _, want := range []string{"tim_bus_connected 1", `tim_http_requests_total{method="GET",route="/readyz",status="200"}`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, _ := get(t, "http://"+metricsAddr+"/readyz"); code != http.StatusNotFound {
		t.Errorf("metrics port /readyz: %d, want 404: it serves /metrics only", code)
	}
	if !strings.Contains(log.String(), `msg="serving metrics" addr=`+metricsAddr) {
		t.Errorf("log does not name the metrics address:\n%s", log.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Errorf("the metrics listener outlived the server on %s", metricsAddr)
	}
}
