//go:build linux

// Package cluster_test runs Tim as operators deploy it on several machines:
// three nats-server processes in a cluster with authentication and routes
// (started by deploy/nats-cluster.sh), three Tim server processes on one
// PostgreSQL, and WebSocket clients chatting across them while a NATS node
// and a Tim instance are killed.
package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/testdb"
	"tim/internal/testwait"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const (
	presenceTimeout = 5 * time.Second
	sendEvery       = 40 * time.Millisecond // 25 messages a second per sender
	natsKillAt      = 2 * time.Second       // after the traffic starts
	timKillAt       = 4 * time.Second
	sendFor         = 9 * time.Second
	// resumeBound is how long a conversation may go without a new message
	// while an instance or a node is lost: "within seconds".
	resumeBound = 10 * time.Second
	// presenceMargin is the slack on top of the presence timeout: the
	// survivors look for silent instances every third of the timeout.
	presenceMargin = 5 * time.Second
)

// TestClusterSurvivesCrashes: users on different instances chat while the
// NATS node one instance uses and another instance are killed with SIGKILL.
// No acked message is lost, every conversation resumes within seconds, the
// dead instance's clients reconnect to survivors, and a friend on a
// survivor sees the dead instance's remaining user go offline within the
// presence timeout plus a margin.
func TestClusterSurvivesCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server and tim processes")
	}
	began := time.Now()
	root := repoRoot(t)
	tmp := t.TempDir()
	natsBin, timBin := buildBinaries(t, root)
	t.Logf("built nats-server and tim in %s", time.Since(began).Round(time.Millisecond))
	setupBegan := time.Now()

	cluster := startNATS(t, root, natsBin)
	for i := range 3 {
		routes, err := cluster.routes(i)
		if err != nil || len(routes) != 2 {
			t.Fatalf("nats node %d routes to %v (%v), want both other nodes", i+1, routes, err)
		}
	}
	// The cluster admits no client without the credential.
	for _, url := range []string{
		fmt.Sprintf("nats://127.0.0.1:%d", cluster.clientPorts[0]),
		fmt.Sprintf("nats://%s:wrong@127.0.0.1:%d", cluster.user, cluster.clientPorts[1]),
	} {
		nc, err := nats.Connect(url, nats.MaxReconnects(0), nats.Timeout(3*time.Second))
		if err == nil {
			nc.Close()
			t.Fatalf("nats accepted a client without the password (%s)", strings.ReplaceAll(url, cluster.password, "***"))
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("nats refused a client without the password with %v, want an authorization violation", err)
		}
	}
	if !strings.Contains(cluster.url, cluster.user+":"+cluster.password+"@") || strings.Count(cluster.url, ",") != 2 {
		t.Fatalf("TIM_NATS_URL %q does not list three servers with the credentials", strings.ReplaceAll(cluster.url, cluster.password, "***"))
	}

	dbURL := testdb.New(t)
	secret := randomHex(t, 32)
	// tim-1 serves its metrics on a listener of their own.
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", freePorts(t, 1)[0])
	tims := make([]*timProc, 3)
	for i := range tims {
		name := fmt.Sprintf("tim-%d", i+1)
		env := []string{
			"TIM_ADDR=127.0.0.1:0",
			"TIM_DATA_DIR=" + t.TempDir(),
			"TIM_DATABASE_URL=" + dbURL,
			"TIM_JWT_SECRET=" + secret,
			"TIM_NATS_URL=" + cluster.url,
			"TIM_PRESENCE_TIMEOUT=" + presenceTimeout.String(),
			"TIM_INSTANCE_ID=" + name,
			"TIM_LOG_LEVEL=info",
			// Cheap password hashes: hashing cost is not this test's subject.
			"TIM_PASSWORD_MEMORY_KIB=64",
			"TIM_PASSWORD_TIME=1",
		}
		if i == 0 {
			env = append(env, "TIM_METRICS_ADDR="+strings.TrimSuffix(strings.TrimPrefix(metricsURL, "http://"), "/metrics"))
		}
		tims[i] = startTim(t, timBin, name, tmp, env)
	}
	for _, p := range tims {
		p.waitReady(t, 60*time.Second)
	}
	t1, t2, t3 := tims[0], tims[1], tims[2]

	// Accounts and friendships, through instances in turn: every instance
	// accepts every token, since they share the secret and the database.
	accounts := []string{"a1", "b1", "a2", "b2", "a3", "b3", "watcher", "idle"}
	tokens := map[string]string{}
	for i, acc := range accounts {
		tokens[acc] = register(t, tims[i%3], acc)
	}
	for i, pair := range [][2]string{
		{"a1", "b1"}, {"a2", "b2"}, {"a3", "b3"},
		{"watcher", "idle"}, {"watcher", "a2"}, {"watcher", "b3"},
	} {
		befriend(t, tims[i%3], tokens, pair[0], pair[1])
	}

	// a1 on tim-1 writes to b1 on tim-2; a2 on tim-3 (to be killed) writes
	// to b2 on tim-1; a3 on tim-1 writes to b3 on tim-3. The watcher on
	// tim-2 is a friend of idle, which is connected to tim-3 only and does
	// not reconnect, and of a2 and b3, which do.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	senders := []*chatClient{
		newChatClient("a1", tokens["a1"], "b1", true, t.Logf, t1, t2),
		newChatClient("a2", tokens["a2"], "b2", true, t.Logf, t3, t1, t2),
		newChatClient("a3", tokens["a3"], "b3", true, t.Logf, t1, t2),
	}
	recipients := []*chatClient{
		newChatClient("b1", tokens["b1"], "a1", true, t.Logf, t2, t1),
		newChatClient("b2", tokens["b2"], "a2", true, t.Logf, t1, t2),
		newChatClient("b3", tokens["b3"], "a3", true, t.Logf, t3, t2, t1),
	}
	watcher := newChatClient("watcher", tokens["watcher"], "", true, t.Logf, t2, t1)
	idle := newChatClient("idle", tokens["idle"], "", false, t.Logf, t3)
	all := append(append(append([]*chatClient{}, senders...), recipients...), watcher, idle)
	for _, c := range all {
		go c.run(ctx)
	}
	defer func() {
		cancel()
		for _, c := range all {
			<-c.done
		}
	}()
	for _, c := range all {
		select {
		case <-c.opened:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not connect", c.account)
		}
	}
	// The watcher knows idle is online before the crash, from its users
	// frame or a presence frame.
	waitFor(t, 10*time.Second, "the watcher to see idle online", func() bool {
		ev := watcher.presenceOf("idle")
		return len(ev) > 0 && ev[len(ev)-1].online
	})
	natsVictim, err := t1.natsNode(cluster.clientPorts)
	if err != nil || natsVictim < 0 {
		t.Fatalf("cannot tell which nats node tim-1 uses: %d, %v", natsVictim, err)
	}
	t.Logf("set up 3 nats nodes, 3 instances, 8 accounts in %s; tim-1 uses nats node %d",
		time.Since(setupBegan).Round(time.Millisecond), natsVictim+1)

	// Traffic, with the crashes in the middle of it.
	trafficBegan := time.Now()
	stopSending := make(chan struct{})
	var sending sync.WaitGroup
	for _, s := range senders {
		sending.Go(func() { s.sendFor(sendEvery, stopSending) })
	}
	time.Sleep(natsKillAt) // the scenario: traffic runs for a while before the crash
	natsKilled := time.Now()
	cluster.kill(t, natsVictim)
	t.Logf("killed nats node %d (SIGKILL)", natsVictim+1)
	var busBack time.Duration
	waitFor(t, 10*time.Second, "tim-1 to reconnect to a surviving nats node", func() bool {
		n, err := t1.natsNode(cluster.clientPorts)
		if err == nil && n >= 0 && n != natsVictim {
			busBack = time.Since(natsKilled)
			return true
		}
		return false
	})

	time.Sleep(time.Until(trafficBegan.Add(timKillAt))) // the scenario: the second crash at its time
	timKilled := time.Now()
	t3.kill(t)
	t.Logf("killed tim-3 (SIGKILL)")

	time.Sleep(time.Until(trafficBegan.Add(sendFor))) // the scenario: traffic for sendFor in all
	close(stopSending)
	sending.Wait() // no send may start after the checks below count them
	trafficEnded := time.Now()

	// Every send is acked in the end (resent under its id after a
	// reconnect), and every acked seq reaches its recipient.
	if err := testwait.For(20*time.Second, func() error {
		n := 0
		for _, s := range senders {
			n += s.pending()
		}
		if n > 0 {
			return fmt.Errorf("%d sends still unacked", n)
		}
		return nil
	}); err != nil {
		t.Errorf("20 s after the traffic ended: %v", err)
	}
	// Not fatal: the checks below say which messages are missing.
	_ = testwait.For(20*time.Second, func() error {
		for i, s := range senders {
			if len(recipients[i].missing(s.ackedSeqs())) > 0 {
				return errors.New("messages missing")
			}
		}
		return nil
	})
	drained := time.Now()

	// The watcher hears that idle, left on the dead instance, went offline.
	offlineBound := presenceTimeout + presenceMargin
	offlineAfter := time.Duration(-1)
	_ = testwait.For(time.Until(timKilled.Add(offlineBound)), func() error {
		for _, e := range watcher.presenceOf("idle") {
			if !e.online && e.at.After(timKilled) {
				offlineAfter = e.at.Sub(timKilled)
				return nil
			}
		}
		return errors.New("idle still online")
	})
	if offlineAfter < 0 || offlineAfter > offlineBound {
		t.Errorf("the watcher did not see idle go offline within %s of tim-3's death", offlineBound)
	}

	// Checks and figures.
	total := 0
	for i, s := range senders {
		r := recipients[i]
		acked := s.ackedSeqs()
		total += len(acked)
		if len(acked) != s.sent {
			t.Errorf("%s: %d sends, %d acked", s.account, s.sent, len(acked))
		}
		// Seqs of one conversation are gap-free: the acked ones are 1..n.
		seqs := make([]int64, 0, len(acked))
		for _, seq := range acked {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		if len(seqs) > 0 && (seqs[0] != 1 || seqs[len(seqs)-1] != int64(len(seqs))) {
			t.Errorf("%s: acked seqs run from %d to %d for %d messages", s.account, seqs[0], seqs[len(seqs)-1], len(seqs))
		}
		if m := r.missing(acked); len(m) > 0 {
			t.Errorf("%s lost %d acked messages from %s: seqs %v", r.account, len(m), s.account, m[:min(len(m), 10)])
		}
		// The sender's socket has the acks of its typed sends, not copies
		// of them (api/asyncapi.yaml): the acked seqs above are its share.
		gap := r.maxGap(trafficBegan.Add(500*time.Millisecond), trafficEnded)
		if gap > resumeBound {
			t.Errorf("%s went %s without a new message from %s", r.account, gap.Round(time.Millisecond), s.account)
		}
		t.Logf("%s -> %s: %d messages acked, %d error frames; longest wait for a new message %s",
			s.account, r.account, len(acked), s.errors, gap.Round(time.Millisecond))
	}
	for _, c := range all {
		if v := c.problems(); len(v) > 0 {
			t.Errorf("%s: %s", c.account, strings.Join(v, "; "))
		}
	}
	// The dead instance's clients reconnected to a survivor and go on.
	for _, c := range []*chatClient{senders[1], recipients[2]} {
		cn, ok := c.firstConnectionAfter(timKilled)
		if !ok || cn.instance == t3.name {
			t.Errorf("%s did not reconnect to a surviving instance (%+v)", c.account, cn)
			continue
		}
		t.Logf("%s reconnected to %s %s after tim-3 was killed", c.account, cn.instance, cn.at.Sub(timKilled).Round(time.Millisecond))
	}
	for _, r := range recipients[1:] {
		at, ok := r.firstNewAfter(timKilled)
		if !ok || at.Sub(timKilled) > resumeBound {
			t.Errorf("%s got no new message within %s of tim-3's death", r.account, resumeBound)
			continue
		}
		t.Logf("%s got its next new message %s after tim-3 was killed", r.account, at.Sub(timKilled).Round(time.Millisecond))
	}
	// a2 and b3 reconnected long before tim-3's presence timed out, so the
	// watcher never hears that they went offline.
	for _, acc := range []string{"a2", "b3"} {
		for _, e := range watcher.presenceOf(acc) {
			if !e.online && e.at.After(timKilled) {
				t.Errorf("the watcher heard %s go offline %s after the crash, though it had reconnected", acc, e.at.Sub(timKilled).Round(time.Millisecond))
			}
		}
	}
	t.Logf("tim-1 reconnected to nats %s after its node was killed", busBack.Round(time.Millisecond))

	// tim-1's metrics tell the same story.
	metrics := scrapeMetrics(t, metricsURL)
	for name, ok := range map[string]func(float64) bool{
		"tim_bus_connected":                  func(v float64) bool { return v == 1 },
		"tim_bus_reconnects_total":           func(v float64) bool { return v >= 1 },
		"tim_messages_committed_total":       func(v float64) bool { return v > 0 },
		"tim_delivery_latency_seconds_count": func(v float64) bool { return v > 0 },
	} {
		if v, found := metrics[name]; !found || !ok(v) {
			t.Errorf("tim-1 metrics: %s = %v (present: %v)", name, v, found)
		}
	}
	t.Logf("tim-1: tim_bus_reconnects_total %v, tim_messages_committed_total %v, tim_delivery_latency_seconds_count %v",
		metrics["tim_bus_reconnects_total"], metrics["tim_messages_committed_total"], metrics["tim_delivery_latency_seconds_count"])
	if res, err := http.Get(t1.url + "/metrics"); err != nil {
		t.Errorf("tim-1's main port: %v", err)
	} else {
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("tim-1 serves /metrics on its main port too (%d)", res.StatusCode)
		}
	}
	t.Logf("watcher saw idle offline %s after tim-3 was killed (presence timeout %s)", offlineAfter.Round(time.Millisecond), presenceTimeout)
	t.Logf("%d messages; traffic %s, drained %s after it; the test ran %s (setup and traffic %s)",
		total, trafficEnded.Sub(trafficBegan).Round(time.Millisecond), drained.Sub(trafficEnded).Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond), time.Since(setupBegan).Round(time.Millisecond))
}

// register creates account through p and returns a token.
func register(t *testing.T, p *timProc, account string) string {
	t.Helper()
	c, err := client.NewClientWithResponses(p.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const password = "secret-pass"
	reg, err := c.UserRegisterWithResponse(ctx, models.RegisterRequest{Account: account, Password: password, Username: account, Age: 20, Sex: models.SexMale})
	if err != nil {
		t.Fatalf("register %s on %s: %v", account, p.name, err)
	}
	if reg.StatusCode() != http.StatusOK {
		t.Fatalf("register %s on %s: %d %s", account, p.name, reg.StatusCode(), reg.Body)
	}
	login, err := c.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: account, Password: password})
	if err != nil {
		t.Fatalf("log in %s on %s: %v", account, p.name, err)
	}
	if login.JSON200 == nil || len(login.JSON200.Data) != 2 {
		t.Fatalf("log in %s on %s: %d %s", account, p.name, login.StatusCode(), login.Body)
	}
	tok, err := login.JSON200.Data[1].AsTokenHolder()
	if err != nil || tok.Token == "" {
		t.Fatalf("log in %s: no token: %v", account, err)
	}
	return tok.Token
}

// befriend makes a and b friends, through p.
func befriend(t *testing.T, p *timProc, tokens map[string]string, a, b string) {
	t.Helper()
	c, err := client.NewClientWithResponses(p.url)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.AddFriendWithResponse(context.Background(), &models.AddFriendParams{UserAccount: a, FriendAccount: b},
		func(_ context.Context, req *http.Request) error { req.Header.Set("token", tokens[a]); return nil })
	if err != nil {
		t.Fatalf("befriend %s and %s on %s: %v", a, b, p.name, err)
	}
	if res.StatusCode() != http.StatusOK {
		t.Fatalf("befriend %s and %s on %s: %d %s", a, b, p.name, res.StatusCode(), res.Body)
	}
}
