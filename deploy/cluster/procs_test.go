//go:build linux

package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tim/internal/testwait"
)

// repoRoot is the module's root: the directory above this package holding
// go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// buildBinaries builds nats-server from the module pinned in go.mod and
// tim, at the same time, without symbol tables (quicker links), into a
// directory kept between runs and named for the checkout: go build leaves a
// binary that is up to date as it is, so a second run skips the links.
func buildBinaries(t *testing.T, root string) (natsBin, timBin string) {
	t.Helper()
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tim-test-bin-%x", sum[:6]), "cluster")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build nats-server and tim: %v", err)
	}
	natsBin, timBin = filepath.Join(dir, "nats-server"), filepath.Join(dir, "tim")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, args := range [][]string{
		{"build", "-ldflags=-s -w", "-o", natsBin, "github.com/nats-io/nats-server/v2"},
		{"build", "-ldflags=-s -w", "-o", timBin, "./cmd/tim"},
	} {
		wg.Go(func() {
			cmd := exec.Command(goBin, args...)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return natsBin, timBin
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// natsCluster is three nats-server processes started by
// deploy/nats-cluster.sh.
type natsCluster struct {
	dir, script                           string
	clientPorts, routePorts, monitorPorts []int
	user, password                        string
	url                                   string // TIM_NATS_URL as the script prints it
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, " ")
}

// startNATS runs `deploy/nats-cluster.sh start` with natsBin on free ports
// and a random password, and stops the cluster in t.Cleanup.
func startNATS(t *testing.T, root, natsBin string) *natsCluster {
	t.Helper()
	ports := freePorts(t, 9)
	c := &natsCluster{
		dir: filepath.Join(t.TempDir(), "nats"), script: filepath.Join(root, "deploy", "nats-cluster.sh"),
		clientPorts: ports[0:3], routePorts: ports[3:6], monitorPorts: ports[6:9],
		user: "tim", password: randomHex(t, 16),
	}
	env := append(os.Environ(),
		"NATS_SERVER="+natsBin,
		"NATS_CLIENT_PORTS="+joinPorts(c.clientPorts),
		"NATS_ROUTE_PORTS="+joinPorts(c.routePorts),
		"NATS_MONITOR_PORTS="+joinPorts(c.monitorPorts),
		"NATS_USER="+c.user, "NATS_PASSWORD="+c.password,
	)
	t.Cleanup(func() {
		if out, err := c.run(env, "stop"); err != nil {
			t.Errorf("stop nats cluster: %v\n%s", err, out)
		}
		if t.Failed() {
			for i := range 3 {
				c.logTail(t, i)
			}
		}
	})
	out, err := c.run(env, "start")
	if err != nil {
		t.Fatalf("start nats cluster: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "TIM_NATS_URL="); ok {
			c.url = v
		}
	}
	if c.url == "" {
		t.Fatalf("nats-cluster.sh start printed no TIM_NATS_URL:\n%s", out)
	}
	return c
}

func (c *natsCluster) run(env []string, command string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", c.script, command, c.dir)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// pid is node i's process id (i from 0), from its pid file.
func (c *natsCluster) pid(i int) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("nats-%d", i+1), "nats.pid"))
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// kill ends node i with SIGKILL and waits until its client port refuses
// connections.
func (c *natsCluster) kill(t *testing.T, i int) {
	t.Helper()
	pid, err := c.pid(i)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill nats node %d: %v", i+1, err)
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("nats node %d to go away", i+1), func() bool {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.clientPorts[i]), time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
}

// routes lists the distinct servers node i has routes to, from its
// monitoring endpoint.
func (c *natsCluster) routes(i int) ([]string, error) {
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/routez", c.monitorPorts[i]))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var rz struct {
		Routes []struct {
			RemoteName string `json:"remote_name"`
		} `json:"routes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&rz); err != nil {
		return nil, fmt.Errorf("decode routez: %w", err)
	}
	var names []string
	for _, r := range rz.Routes {
		names = append(names, r.RemoteName)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func (c *natsCluster) logTail(t *testing.T, i int) {
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("nats-%d", i+1), "nats.log"))
	if err != nil {
		return
	}
	t.Logf("nats node %d log (tail):\n%s", i+1, tail(b, 20))
}

func tail(b []byte, lines int) string {
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// timProc is one Tim server process.
type timProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	url     string // http://127.0.0.1:port, once ready
	exited  chan struct{}
}

// startTim starts bin with env (TIM_* settings) and stops it in t.Cleanup:
// SIGTERM, and SIGKILL if it has not exited 20 s later.
func startTim(t *testing.T, bin, name, dir string, env []string) *timProc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin)
	// The test's own TIM_* settings are not the instance's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test process die, so does the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &timProc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // a killed or stopped server exits non-zero
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-p.exited
				t.Errorf("%s did not stop within 20 s of SIGTERM", name)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log (tail):\n%s", name, tail(b, 40))
		}
	})
	return p
}

var listeningLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

// waitReady waits until p logs its address and answers /readyz with 200.
func (p *timProc) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	testwait.Eventually(t, within, func() error {
		select {
		case <-p.exited:
			b, _ := os.ReadFile(p.logPath)
			t.Fatalf("%s exited while starting:\n%s", p.name, tail(b, 40))
		default:
		}
		if p.url == "" {
			if f, err := os.Open(p.logPath); err == nil {
				sc := bufio.NewScanner(f)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
						p.url = "http://" + m[1]
					}
				}
				f.Close()
			}
		}
		if p.url != "" {
			if res, err := http.Get(p.url + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		b, _ := os.ReadFile(p.logPath)
		return fmt.Errorf("%s not ready:\n%s", p.name, tail(b, 40))
	})
}

// kill ends p with SIGKILL, as a crash would, and waits for it.
func (p *timProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited
}

// natsNode returns which of the client ports p's process has an
// established TCP connection to (its index), or -1: the NATS node it uses.
// It matches the process's socket inodes (/proc/<pid>/fd) against the
// connection table (/proc/net/tcp).
func (p *timProc) natsNode(clientPorts []int) (int, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return -1, fmt.Errorf("list fds: %w", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "01" || !inodes[f[9]] { // 01: ESTABLISHED
				continue
			}
			_, portHex, ok := strings.Cut(f[2], ":")
			if !ok {
				continue
			}
			port, err := strconv.ParseUint(portHex, 16, 16)
			if err != nil {
				continue
			}
			if i := slices.Index(clientPorts, int(port)); i >= 0 {
				return i, nil
			}
		}
	}
	return -1, nil
}

// scrapeMetrics reads the unlabelled samples of a /metrics page.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d", url, res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.Eventually(t, within, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}
