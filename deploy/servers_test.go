package deploy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tim/internal/testdb"
)

// envRequired names the variable that turns a missing proxy binary from a
// skipped test into a failure; CI sets it to "required".
const envRequired = "TIM_PROXY_TESTS"

// Timeouts for starting and stopping the processes under test.
const (
	startTimeout = 90 * time.Second
	stopTimeout  = 20 * time.Second
)

// proxyBinary returns the path of a proxy's executable, or skips the test
// when it is missing (fails instead when TIM_PROXY_TESTS=required).
func proxyBinary(t *testing.T, name string) string {
	t.Helper()
	if p, ok := lookBinary(name); ok {
		return p
	}
	if os.Getenv(envRequired) == "required" {
		t.Fatalf("%s is not installed (apt-get install %s), and %s=required", name, name, envRequired)
	}
	t.Skipf("%s is not installed (apt-get install %s); set %s=required to fail instead", name, name, envRequired)
	return ""
}

// lookBinary finds an executable on PATH or in /usr/sbin and /usr/bin,
// which are not on every PATH.
func lookBinary(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, true
		}
	}
	return "", false
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return port
}

// process is a child process whose output goes to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// startProcess starts bin with args and env (nil: this process's
// environment), writing its output to dir/<name>.log. It is stopped with
// SIGTERM in t.Cleanup, and its log is shown when the test failed.
func startProcess(t *testing.T, name, dir, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatalf("%s: create log: %v", name, err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		_ = out.Close()
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		_ = out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.showLog(t)
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process with SIGTERM (SIGKILL after stopTimeout). It may
// be called more than once.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: signal: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		t.Errorf("%s: still running %v after SIGTERM; killing it", p.name, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// showLog writes the process's output (its last 200 lines) to the test log.
func (p *process) showLog(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Logf("%s: read log: %v", p.name, err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	t.Logf("%s output (%s):\n%s", p.name, p.log, strings.Join(lines, "\n"))
}

// waitHealthy polls url until it answers 200, failing the test when p
// exits first or startTimeout passes.
func waitHealthy(t *testing.T, p *process, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			p.showLog(t)
			t.Fatalf("%s exited before %s answered: %v", p.name, url, p.err)
		case <-ctx.Done():
			t.Fatalf("%s: %s did not answer 200 within %v: %s", p.name, url, startTimeout, last)
		case <-tick.C:
		}
	}
}

// timSettings are the settings of the Tim under test: the proxies on
// loopback are its only trusted proxies, pings come every second (the
// test proxies cut sockets idle for readTimeout), and three failed logins
// from one client address are the limit. Password hashes are cheap: what
// hashing costs is not what these tests are about.
func timSettings(addr, dataDir, dbURL string) []string {
	return []string{
		"TIM_ADDR=" + addr,
		"TIM_DATA_DIR=" + dataDir,
		"TIM_DATABASE_URL=" + dbURL,
		"TIM_TRUSTED_PROXIES=127.0.0.1/32",
		"TIM_PING_INTERVAL=1s",
		"TIM_LOGIN_FAILURES_PER_ADDRESS=" + strconv.Itoa(loginLimit),
		"TIM_LOG_LEVEL=info",
		"TIM_PASSWORD_MEMORY_KIB=64",
		"TIM_PASSWORD_TIME=1",
	}
}

// startTim builds cmd/tim and runs it on a fresh database and a private
// data directory. It returns the address Tim listens on (127.0.0.1:port).
func startTim(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(binDir(t), "tim")
	build := exec.Command(goTool(), "build", "-o", bin, "tim/cmd/tim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build tim: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatalf("create data dir: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	env := append(withoutTimSettings(os.Environ()), timSettings(addr, data, testdb.New(t))...)
	p := startProcess(t, "tim", dir, bin, env)
	waitHealthy(t, p, "http://"+addr+"/readyz")
	return addr
}

// binDir is where this package's tests build their binaries: kept between
// runs and named for the checkout, because go build leaves a binary that is
// up to date as it is and a second run skips the link.
func binDir(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tim-test-bin-%x", sum[:6]), "deploy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goTool returns the go command on PATH, which builds the server.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// withoutTimSettings drops TIM_* variables from env, so that the caller's
// settings (TIM_ADDR and the like) cannot leak into the server under test.
func withoutTimSettings(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TIM_") {
			out = append(out, kv)
		}
	}
	return out
}

// edit replaces one whole line of a shipped configuration, matched after
// trimming its indentation.
type edit struct{ old, new string }

// render reads the shipped file name, applies edits, and writes the result
// into dir. Each edit must match exactly one line: when the shipped file
// changes, the test says which substitution no longer applies instead of
// silently testing something else.
func render(t *testing.T, name, dir string, edits []edit) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	lines := strings.Split(string(b), "\n")
	for _, e := range edits {
		n := 0
		for i, line := range lines {
			if strings.TrimSpace(line) == e.old {
				indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
				lines[i] = indent + e.new
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s: the line %q occurs %d times, want once", name, e.old, n)
		}
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatalf("write %s: %v", out, err)
	}
	return out
}

// proxy is a running reverse proxy in front of Tim.
type proxy struct {
	// URL is its base URL, http://127.0.0.1:port.
	URL string
	// AccessLog and ErrorLog are its log files (ErrorLog may be "").
	AccessLog, ErrorLog string
	proc                *process
}

// startNginx runs deploy/nginx.conf in front of tim with the given read
// timeout, as a private nginx under a temporary prefix.
func startNginx(t *testing.T, tim string, readTimeout time.Duration) *proxy {
	t.Helper()
	bin := proxyBinary(t, "nginx")
	dir := t.TempDir()
	port := freePort(t)
	user := "user www-data;" // ignored with a warning when not root
	if os.Geteuid() == 0 {
		user = "user root;" // workers must reach the temporary directories
	}
	var temps []string
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temps = append(temps, fmt.Sprintf("%s_temp_path %s;", kind, filepath.Join(dir, kind)))
	}
	p := &proxy{
		URL:       "http://127.0.0.1:" + strconv.Itoa(port),
		AccessLog: filepath.Join(dir, "access.log"),
		ErrorLog:  filepath.Join(dir, "error.log"),
	}
	conf := render(t, "nginx.conf", dir, []edit{
		{"user www-data;", user},
		{"pid /run/nginx.pid;", "pid " + filepath.Join(dir, "nginx.pid") + ";"},
		{"error_log /var/log/nginx/error.log warn;", "error_log " + p.ErrorLog + " warn;"},
		{"http {", "http {\n    " + strings.Join(temps, "\n    ")},
		{"access_log /var/log/nginx/tim-access.log tim;", "access_log " + p.AccessLog + " tim;"},
		{"server 127.0.0.1:8081;", "server " + tim + ";"},
		{"listen 80;", "listen 127.0.0.1:" + strconv.Itoa(port) + ";"},
		{"proxy_read_timeout 75s;", fmt.Sprintf("proxy_read_timeout %ds;", int(readTimeout.Seconds()))},
	})
	p.proc = startProcess(t, "nginx", dir, bin, nil, "-p", dir, "-c", conf, "-e", p.ErrorLog, "-g", "daemon off;")
	waitHealthy(t, p.proc, p.URL+"/healthz")
	return p
}

// startCaddy runs deploy/Caddyfile in front of tim, as a private Caddy
// with its admin API off and its state under a temporary directory.
// readTimeout, when positive, is set on the connections to Tim.
func startCaddy(t *testing.T, tim string, readTimeout time.Duration) *proxy {
	t.Helper()
	bin := proxyBinary(t, "caddy")
	dir := t.TempDir()
	port := freePort(t)
	p := &proxy{URL: "http://127.0.0.1:" + strconv.Itoa(port), AccessLog: filepath.Join(dir, "access.log")}
	upstream := "reverse_proxy " + tim + " {"
	if readTimeout > 0 {
		upstream += fmt.Sprintf("\n\t\ttransport http {\n\t\t\tread_timeout %v\n\t\t}", readTimeout)
	}
	conf := render(t, "Caddyfile", dir, []edit{
		{"admin localhost:2019", "admin off"},
		{":80 {", fmt.Sprintf(":%d {\n\tbind 127.0.0.1", port)},
		{"output file /var/log/caddy/tim-access.log", "output file " + p.AccessLog},
		{"reverse_proxy 127.0.0.1:8081 {", upstream},
	})
	env := append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	p.proc = startProcess(t, "caddy", dir, bin, env, "run", "--config", conf, "--adapter", "caddyfile")
	waitHealthy(t, p.proc, p.URL+"/healthz")
	return p
}

// stop ends the proxy, so that its logs are complete.
func (p *proxy) stop(t *testing.T) { p.proc.stop(t) }

// logLines returns the lines of a log file.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read log %s: %v", path, err)
	}
	return lines
}
