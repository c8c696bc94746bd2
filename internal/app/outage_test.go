package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tim/internal/app"
	"tim/internal/pgcluster"
	"tim/internal/testlog"
	"tim/internal/testwait"
)

// TestDatabaseOutageIsLoggedOnce: while its PostgreSQL is stopped, a
// server answering a stream of requests that all fail writes one line
// when the database becomes unreachable and one when it answers again,
// with the count of failed calls in between, instead of an ERROR line
// per failed call; and it serves again once the database is back.
func TestDatabaseOutageIsLoggedOnce(t *testing.T) {
	t.Parallel()
	// A cluster of its own, to stop and start: a short path keeps its
	// socket in its directory, so the server's URL stays valid across the
	// restart. The directory is open to the postgres user (see pgcluster).
	parent, err := os.MkdirTemp("", "tim-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	pgDir := filepath.Join(parent, "pg")
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Fast: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = pgcluster.StopDir(context.Background(), pgcluster.Options{Dir: pgDir}) })
	if err := cluster.EnsureDatabase(ctx, "tim"); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	env := map[string]string{
		"TIM_DATABASE_URL": cluster.URL("tim"), "TIM_DATA_DIR": t.TempDir(),
		"TIM_JWT_SECRET": "test-secret-0123456789abcdefghijklmnop", "TIM_ADDR": addr,
		"TIM_PASSWORD_MEMORY_KIB": "64", "TIM_PASSWORD_TIME": "1", // cheap hashes
	}
	runCtx, cancel := context.WithCancel(ctx)
	var log testlog.Buffer
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx, []string{"tim"}, func(k string) string { return env[k] }, &log, &log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	base := "http://" + addr
	waitReady(t, base)

	post := func(path, body string) (int, string) {
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("/Tim/UserRegister", `{"account":"alice","password":"secret-pass","username":"alice","age":20,"sex":"female"}`); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	_, body := post("/Tim/UserLogin", `{"account":"alice","password":"secret-pass"}`)
	m := regexp.MustCompile(`"token":"([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("login answered no token: %s", body)
	}
	token := m[1]
	friends := func() int {
		req, err := http.NewRequest(http.MethodGet, base+"/Tim/getFriends?account=alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("token", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("getFriends: %v", err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := friends(); code != http.StatusOK {
		t.Fatalf("getFriends before the outage: %d", code)
	}
	before := len(log.String())

	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	// Four clients call for three seconds; every call needs the database.
	var failed atomic.Int64
	var wg sync.WaitGroup
	stopAt := time.Now().Add(3 * time.Second)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				if code := friends(); code >= 500 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() < 20 {
		t.Fatalf("only %d calls failed during the outage", failed.Load())
	}
	if _, err := pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Fast: true}); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	recovered := log.Wait(t, 30*time.Second, before, regexp.MustCompile(`msg="database reachable again" outage=\S+ failed_calls=(\d+)`))
	waitReady(t, base)
	if code := friends(); code != http.StatusOK {
		t.Fatalf("getFriends after the outage: %d", code)
	}

	outage := log.String()[before:]
	calls, _ := strconv.Atoi(recovered[1])
	t.Logf("%d requests failed; the server counted %d failed calls", failed.Load(), calls)
	if int64(calls) < failed.Load() {
		t.Errorf("failed_calls=%d, fewer than the %d requests that failed", calls, failed.Load())
	}
	if n := strings.Count(outage, `msg="database unreachable"`); n != 1 {
		t.Errorf("%d lines say the database is unreachable, want 1", n)
	}
	// The outage lasted a few seconds, less than one summary interval:
	// the only ERROR line is the state change.
	var errs []string
	for _, line := range strings.Split(outage, "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Log(line)
		}
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, `msg="database unreachable"`) {
			errs = append(errs, line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("%d other ERROR lines during the outage, the first ones:\n%s", len(errs), strings.Join(errs[:min(len(errs), 5)], "\n"))
	}
}

// waitReady polls /readyz until it answers 200, for at most 30 s.
func waitReady(t *testing.T, base string) {
	t.Helper()
	testwait.Eventually(t, 30*time.Second, func() error { return ready(base) })
}

// ready asks base's /readyz once: nil when it answers 200.
func ready(base string) error {
	res, err := http.Get(base + "/readyz")
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/readyz: %s", base, res.Status)
	}
	return nil
}
