// Package s3test starts a real S3-compatible server for a test: SeaweedFS's
// `weed mini`, built by `make bin/weed` from the module pinned in
// tools/s3server, on free ports of 127.0.0.1 with its own data directory,
// stopped when the test ends.
//
// Without bin/weed the test is skipped, or fails when TIM_S3_TESTS=required
// (make test sets it). TIM_WEED names the binary (default: bin/weed of the
// repository the test runs in).
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"tim/internal/testwait"
)

// Server is a running S3 server with one bucket.
type Server struct {
	Endpoint  string // host:port of the S3 API, plain HTTP
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
}

// Start runs a server that makes an empty bucket named bucket at start
// (weed's -bucket) and returns it once its S3 API answers; the server stops
// and its data is removed at t's cleanup.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	weed := binary(t)
	dir := t.TempDir()
	srv := &Server{Bucket: bucket, Region: "us-east-1", AccessKey: "timtestaccess", SecretKey: "timtestsecret0123456789"}
	conf := fmt.Sprintf(`{"identities":[{"name":"tim","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, srv.AccessKey, srv.SecretKey)
	confPath := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 8)
	s3Port := p[6]
	args := []string{"mini",
		"-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + p[0], "-master.port.grpc=" + p[1], "-master.telemetry=false",
		"-volume.port=" + p[2], "-volume.port.grpc=" + p[3],
		"-filer.port=" + p[4], "-filer.port.grpc=" + p[5],
		"-s3.port=" + s3Port, "-s3.port.grpc=" + p[7], "-s3.config=" + confPath,
		"-bucket=" + bucket,
		"-webdav=false", "-admin.ui=false", "-admin.port.legacy=0",
	}
	logs := &syncWriter{b: &bytes.Buffer{}}
	cmd := exec.Command(weed, args...)
	cmd.Dir = dir
	cmd.Stdout = logs
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", weed, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	srv.Endpoint = net.JoinHostPort("127.0.0.1", s3Port)
	client := &http.Client{Timeout: 2 * time.Second}
	err := testwait.For(90*time.Second, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("weed exited: %v", err)
		default:
		}
		// An anonymous request answers 403 once the S3 API serves.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+srv.Endpoint+"/"+bucket, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			return fmt.Errorf("HEAD /%s: %s", bucket, res.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("S3 server at %s did not come up: %v\n%s", srv.Endpoint, err, logs.String())
	}
	return srv
}

func binary(t testing.TB) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("TIM_S3_TESTS") == "required" {
			t.Fatalf(format+" (TIM_S3_TESTS=required)", args...)
		}
		t.Skipf(format, args...)
	}
	if w := os.Getenv("TIM_WEED"); w != "" {
		if _, err := os.Stat(w); err != nil {
			missing("no S3 server at TIM_WEED=%s: %v", w, err)
		}
		return w
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			w := filepath.Join(dir, "bin", "weed")
			if _, err := os.Stat(w); err != nil {
				missing("no S3 server at %s: run make bin/weed: %v", w, err)
			}
			return w
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			missing("no go.mod above the test's directory to find bin/weed in")
		}
		dir = parent
	}
}

// freePorts returns n distinct ports of 127.0.0.1 free at the time of the
// call.
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var ls []net.Listener
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// syncWriter lets the server's stdout and stderr share one buffer.
type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
