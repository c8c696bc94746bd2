package accounts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/testenv"
)

// parallel runs n calls of f at once (released together) and returns their
// status codes in call order.
func parallel(n int, f func(i int) int) []int {
	codes := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

func countCodes(codes []int) map[int]int {
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}

// retryAfter checks that a response carries a positive Retry-After and
// returns it.
func retryAfter(t *testing.T, h http.Header) int {
	t.Helper()
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", h.Get("Retry-After"))
	}
	return secs
}

func from(addr string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Forwarded-For", addr)
		return nil
	}
}

func connect(t *testing.T, env *testenv.Env) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Many wrong guesses at once, spread over two instances, get exactly the
// limit's number of checks; the rest, and then the right password, wait.
func TestConcurrentWrongLoginsCheckAtMostTheLimit(t *testing.T) {
	t.Parallel()
	const limit, guesses = 10, 60
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.Accounts.LoginFailuresPerAccount = limit
		c.Accounts.LoginFailuresPerAddress = 1000
		// Every guess that passes the limit is checked: none may be turned
		// away for lack of a hashing slot.
		c.Accounts.HashQueue = guesses
		c.Accounts.HashWait = time.Minute
	}))
	peer := env.Peer(t)
	env.Register(t, "alice")

	var mu sync.Mutex
	var waits []int
	codes := parallel(guesses, func(i int) int {
		srv := env
		if i%2 == 1 {
			srv = peer
		}
		res, err := srv.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "alice", Password: fmt.Sprintf("guess-%d", i)})
		if err != nil {
			t.Error(err)
			return 0
		}
		if res.StatusCode() == 429 {
			if res.JSON429 == nil || res.JSON429.Code != 429 || res.JSON429.Message != "登录失败次数过多，请稍后再试" {
				t.Errorf("429 body: %s", res.Body)
			}
			mu.Lock()
			waits = append(waits, retryAfter(t, res.HTTPResponse.Header))
			mu.Unlock()
		}
		return res.StatusCode()
	})
	got := countCodes(codes)
	if got[401] != limit || got[429] != guesses-limit {
		t.Fatalf("got %v, want %d×401 and %d×429", got, limit, guesses-limit)
	}
	if m := slices.Max(waits); m > int((15 * time.Minute).Seconds()) {
		t.Errorf("Retry-After %d is longer than the window", m)
	}

	res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "alice", Password: testenv.Password})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 429 {
		t.Fatalf("right password after %d failures: status %d: %s", limit, res.StatusCode(), res.Body)
	}
	retryAfter(t, res.HTTPResponse.Header)
}

// A right password takes back the failure reserved for it, so successful
// logins never use up the limit.
func TestRightPasswordTakesBackItsReservation(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Accounts.LoginFailuresPerAccount = 2 }))
	env.Register(t, "alice")
	wrong := models.UserLoginJSONRequestBody{Account: "alice", Password: "wrong-password"}
	if res, err := env.Client.UserLoginWithResponse(ctx, wrong); err != nil || res.StatusCode() != 401 {
		t.Fatalf("first failure: %v %d", err, res.StatusCode())
	}
	for range 3 {
		env.Login(t, "alice")
	}
	// One failure is on record, so one more wrong guess is still checked.
	if res, err := env.Client.UserLoginWithResponse(ctx, wrong); err != nil || res.StatusCode() != 401 {
		t.Fatalf("second failure: %v %d", err, res.StatusCode())
	}
	if res, err := env.Client.UserLoginWithResponse(ctx, wrong); err != nil || res.StatusCode() != 429 {
		t.Fatalf("third failure: %v %d, want 429", err, res.StatusCode())
	}
}

// With one hashing slot and no queue, a burst of registrations is partly
// turned away with 503 and Retry-After; a turned-away registration leaves
// nothing behind, and every accepted one is whole.
func TestRegistrationsBeyondTheHashingCapGet503(t *testing.T) {
	t.Parallel()
	const n = 24
	// Hashes as costly as in production, so that a burst finds the slot
	// taken.
	env := testenv.New(t, testenv.ProductionHashing(), testenv.WithConfig(func(c *config.Config) {
		c.Accounts.HashConcurrency = 1
		c.Accounts.HashQueue = 0
		c.Accounts.RegistrationsPerAddress = 1000
	}))
	account := func(i int) string { return fmt.Sprintf("burst%02d", i) }
	codes := parallel(n, func(i int) int {
		res, err := env.Client.UserRegisterWithResponse(ctx, register(account(i), "123456"))
		if err != nil {
			t.Error(err)
			return 0
		}
		switch res.StatusCode() {
		case 200:
			if res.JSON200 == nil || res.JSON200.Data.Account != account(i) {
				t.Errorf("200 body: %s", res.Body)
			}
		case 503:
			if res.JSON503 == nil || res.JSON503.Code != 503 || res.JSON503.Message != "服务器繁忙，请稍后再试" {
				t.Errorf("503 body: %s", res.Body)
			}
			retryAfter(t, res.HTTPResponse.Header)
		default:
			t.Errorf("register %s: status %d: %s", account(i), res.StatusCode(), res.Body)
		}
		return res.StatusCode()
	})
	got := countCodes(codes)
	if got[200] == 0 || got[503] == 0 {
		t.Fatalf("got %v, want some 200 and some 503", got)
	}

	rows, err := connect(t, env).Query(ctx, "SELECT account, password_hash FROM users ORDER BY account")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for rows.Next() {
		var acct, hash string
		if err := rows.Scan(&acct, &hash); err != nil {
			t.Fatal(err)
		}
		stored[acct] = hash
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i, code := range codes {
		hash, ok := stored[account(i)]
		if ok != (code == 200) {
			t.Errorf("%s answered %d but is stored: %v", account(i), code, ok)
		}
		if ok && !strings.HasPrefix(hash, "$argon2id$") {
			t.Errorf("%s has hash %.12q...", account(i), hash)
		}
	}
	// A turned-away account registers on a later try, and every accepted
	// one logs in.
	for i, code := range codes {
		if code == 503 {
			res, err := env.Client.UserRegisterWithResponse(ctx, register(account(i), "123456"))
			if err != nil || res.StatusCode() != 200 {
				t.Fatalf("retry %s: status %d: %s", account(i), res.StatusCode(), res.Body)
			}
			break
		}
	}
	for i, code := range codes {
		if code == 200 {
			res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: account(i), Password: "123456"})
			if err != nil || res.StatusCode() != 200 {
				t.Errorf("login %s: status %d: %s", account(i), res.StatusCode(), res.Body)
			}
		}
	}
}

// Logins share the hashing cap: beyond it they get 503, and neither they
// nor the successful ones leave a failure on record.
func TestLoginsBeyondTheHashingCapGet503(t *testing.T) {
	t.Parallel()
	const n = 16
	// Hashes as costly as in production, so that a burst finds the slot
	// taken (the peer shares the parameters, so no login rehashes).
	env := testenv.New(t, testenv.ProductionHashing())
	env.Register(t, "alice")
	busy := env.Peer(t, testenv.WithConfig(func(c *config.Config) {
		c.Accounts.HashConcurrency = 1
		c.Accounts.HashQueue = 0
		c.Accounts.LoginFailuresPerAccount = 1000
	}))
	codes := parallel(n, func(int) int {
		res, err := busy.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "alice", Password: testenv.Password})
		if err != nil {
			t.Error(err)
			return 0
		}
		if res.StatusCode() == 503 {
			if res.JSON503 == nil || res.JSON503.Code != 503 {
				t.Errorf("503 body: %s", res.Body)
			}
			retryAfter(t, res.HTTPResponse.Header)
		}
		return res.StatusCode()
	})
	got := countCodes(codes)
	if got[200] == 0 || got[503] == 0 || got[200]+got[503] != n {
		t.Fatalf("got %v, want only 200 and 503, some of each", got)
	}
	var failures int
	if err := connect(t, env).QueryRow(ctx, "SELECT count(*) FROM login_failures").Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 0 {
		t.Errorf("%d login failures on record after only right passwords", failures)
	}
}

// Registrations are limited per client address, across instances; other
// addresses are counted separately.
func TestRegistrationLimitPerAddress(t *testing.T) {
	t.Parallel()
	const limit = 3
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.Accounts.RegistrationsPerAddress = limit
		c.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}))
	peer := env.Peer(t)
	reg := func(srv *testenv.Env, account, addr string) *client.UserRegisterResponse {
		t.Helper()
		res, err := srv.Client.UserRegisterWithResponse(ctx, register(account, "123456"), from(addr))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	const a, b = "198.51.100.1", "198.51.100.2"
	for i, srv := range []*testenv.Env{env, peer, env} {
		if res := reg(srv, fmt.Sprintf("a%d", i), a); res.StatusCode() != 200 {
			t.Fatalf("registration %d from %s: status %d: %s", i, a, res.StatusCode(), res.Body)
		}
	}
	for _, srv := range []*testenv.Env{peer, env} {
		res := reg(srv, "a-over", a)
		if res.StatusCode() != 429 || res.JSON429 == nil || res.JSON429.Message != "注册过于频繁，请稍后再试" {
			t.Fatalf("over the limit: status %d: %s", res.StatusCode(), res.Body)
		}
		if secs := retryAfter(t, res.HTTPResponse.Header); secs > 60 {
			t.Errorf("Retry-After %d is longer than the window", secs)
		}
	}
	if res := reg(env, "b0", b); res.StatusCode() != 200 {
		t.Fatalf("other address: status %d: %s", res.StatusCode(), res.Body)
	}
	// The refused registration left no account.
	res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "a-over", Password: "123456"})
	if err != nil || res.StatusCode() != 401 {
		t.Fatalf("login to refused account: status %d: %s", res.StatusCode(), res.Body)
	}
}

// Concurrent registrations from one address get exactly the limit through.
func TestConcurrentRegistrationsFromOneAddress(t *testing.T) {
	t.Parallel()
	const limit, n = 5, 20
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.Accounts.RegistrationsPerAddress = limit
		c.Accounts.HashQueue = n
		c.Accounts.HashWait = time.Minute
	}))
	codes := parallel(n, func(i int) int {
		res, err := env.Client.UserRegisterWithResponse(ctx, register(fmt.Sprintf("c%02d", i), "123456"))
		if err != nil {
			t.Error(err)
			return 0
		}
		return res.StatusCode()
	})
	if got := countCodes(codes); got[200] != limit || got[429] != n-limit {
		t.Fatalf("got %v, want %d×200 and %d×429", got, limit, n-limit)
	}
}
