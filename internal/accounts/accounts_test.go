package accounts_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

func register(account, password string) models.RegisterRequest {
	return models.RegisterRequest{Account: account, Password: password, Username: "lxc", Age: 1, Sex: models.SexMale}
}

func TestRegisterAsDocumented(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	res, err := env.Client.UserRegisterWithResponse(ctx, register("123", "123456"))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 200 || res.JSON200 == nil {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
	got := res.JSON200
	if got.Code != 200 || got.Message != "注册成功" {
		t.Errorf("envelope = %d %q", got.Code, got.Message)
	}
	u := got.Data
	if u.Account != "123" || u.Username != "lxc" || u.Age != 1 || u.Sex != models.SexMale || u.OnlineStatus != 0 || u.AvatarUrl != nil || u.Id == 0 {
		t.Errorf("user = %+v", u)
	}
	if bytes.Contains(res.Body, []byte("password")) || bytes.Contains(res.Body, []byte("argon2")) {
		t.Errorf("response leaks the password: %s", res.Body)
	}

	again, err := env.Client.UserRegisterWithResponse(ctx, register("123", "other-pass"))
	if err != nil {
		t.Fatal(err)
	}
	if again.StatusCode() != 409 || again.JSON409 == nil || again.JSON409.Code != 409 {
		t.Fatalf("taken account: status %d: %s", again.StatusCode(), again.Body)
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	long := strings.Repeat("a", 33)
	cases := []struct {
		name, body, contentType string
		code                    int
		mentions                string
	}{
		{"missing account", `{"password":"123456","username":"u","age":1,"sex":"male"}`, "application/json", 400, "account"},
		{"missing password", `{"account":"a","username":"u","age":1,"sex":"male"}`, "application/json", 400, "password"},
		{"short password", `{"account":"a","password":"12345","username":"u","age":1,"sex":"male"}`, "application/json", 400, "password"},
		{"long password", `{"account":"a","password":"` + strings.Repeat("p", 73) + `","username":"u","age":1,"sex":"male"}`, "application/json", 400, "password"},
		{"long account", `{"account":"` + long + `","password":"123456","username":"u","age":1,"sex":"male"}`, "application/json", 400, "account"},
		{"bad account characters", `{"account":"a b","password":"123456","username":"u","age":1,"sex":"male"}`, "application/json", 400, "account"},
		{"empty username", `{"account":"a","password":"123456","username":"","age":1,"sex":"male"}`, "application/json", 400, "username"},
		{"age too high", `{"account":"a","password":"123456","username":"u","age":151,"sex":"male"}`, "application/json", 400, "age"},
		{"negative age", `{"account":"a","password":"123456","username":"u","age":-1,"sex":"male"}`, "application/json", 400, "age"},
		{"age as string", `{"account":"a","password":"123456","username":"u","age":"1","sex":"male"}`, "application/json", 400, "age"},
		{"bad sex", `{"account":"a","password":"123456","username":"u","age":1,"sex":"other"}`, "application/json", 400, "sex"},
		{"malformed json", `{"account":`, "application/json", 400, "JSON"},
		{"empty body", ``, "application/json", 400, ""},
		{"wrong media type", `account=a`, "application/x-www-form-urlencoded", 415, ""},
		{"oversized", `{"account":"a","password":"` + strings.Repeat("p", 70000) + `"}`, "application/json", 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := env.Client.UserRegisterWithBodyWithResponse(ctx, tc.contentType, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != tc.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode(), tc.code, res.Body)
			}
			if !bytes.Contains(res.Body, []byte(`"code":`)) || !bytes.Contains(res.Body, []byte(tc.mentions)) {
				t.Errorf("body %s does not name %q", res.Body, tc.mentions)
			}
		})
	}
}

func TestLoginAsDocumented(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	if _, err := env.Client.UserRegisterWithResponse(ctx, register("123", "123456")); err != nil {
		t.Fatal(err)
	}
	res, err := env.Client.UserLoginWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{"account":"123","password":"123456"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil || res.JSON200.Message != "登录成功" || len(res.JSON200.Data) != 2 {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
	u, err := res.JSON200.Data[0].AsUser()
	if err != nil || u.Account != "123" || u.Username != "lxc" {
		t.Errorf("data[0] = %+v, %v", u, err)
	}
	tok, err := res.JSON200.Data[1].AsTokenHolder()
	if err != nil || strings.Count(tok.Token, ".") != 2 {
		t.Errorf("data[1] = %+v, %v", tok, err)
	}
	if bytes.Contains(res.Body, []byte("password")) {
		t.Errorf("login leaks the password: %s", res.Body)
	}

	// The token works in the `token` header and as a bearer token.
	for name, edit := range map[string]client.RequestEditorFn{
		"token header": testenv.Auth(tok.Token),
		"bearer": func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+tok.Token)
			return nil
		},
	} {
		fr, err := env.Client.GetFriendsWithResponse(ctx, &models.GetFriendsParams{Account: "123"}, edit)
		if err != nil || fr.StatusCode() != 200 {
			t.Errorf("%s: status %d: %s", name, fr.StatusCode(), fr.Body)
		}
	}
}

func TestLoginFailuresLookTheSame(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	env.Register(t, "alice")
	for _, body := range []models.UserLoginJSONRequestBody{
		{Account: "alice", Password: "wrong-password"},
		{Account: "nobody", Password: testenv.Password},
	} {
		res, err := env.Client.UserLoginWithResponse(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 401 || res.JSON401 == nil || res.JSON401.Message != "用户认证失败请查询登录" {
			t.Errorf("login %s: status %d: %s", body.Account, res.StatusCode(), res.Body)
		}
	}
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Accounts.LoginFailuresPerAccount = 3 }))
	env.Register(t, "alice")
	for i := 0; i < 3; i++ {
		res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "alice", Password: "wrong-password"})
		if err != nil || res.StatusCode() != 401 {
			t.Fatalf("attempt %d: status %d: %s", i, res.StatusCode(), res.Body)
		}
	}
	// Now even the right password waits.
	res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "alice", Password: testenv.Password})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 429 || res.HTTPResponse.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", res.StatusCode(), res.HTTPResponse.Header.Get("Retry-After"), res.Body)
	}
	// Another account is not affected.
	env.Register(t, "bob")
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Accounts.LoginFailuresPerAddress = 2 }))
	env.Register(t, "alice")
	for _, acct := range []string{"x1", "x2"} {
		res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: acct, Password: "wrong-password"})
		if err != nil || res.StatusCode() != 401 {
			t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
		}
	}
	res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "alice", Password: testenv.Password})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 429 {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
}

func TestSuccessfulLoginsAreNotLimited(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Accounts.LoginFailuresPerAccount = 2; c.Accounts.LoginFailuresPerAddress = 2 }))
	env.Register(t, "alice")
	for i := 0; i < 5; i++ {
		env.Login(t, "alice")
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	tok := env.Register(t, "alice")
	other := env.Login(t, "alice")

	res, err := env.Client.UserLogoutWithResponse(ctx, nil, testenv.Auth(tok))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 200 || res.JSON200.Message != "退出成功" {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
	if code := friendsStatus(t, env, tok); code != 401 {
		t.Errorf("revoked token: status %d, want 401", code)
	}
	if code := friendsStatus(t, env, other); code != 200 {
		t.Errorf("other token: status %d, want 200", code)
	}

	// Revocation survives a restart.
	env.Restart(t)
	if code := friendsStatus(t, env, tok); code != 401 {
		t.Errorf("after restart: status %d, want 401", code)
	}

	// POST with all=true revokes every token of the account.
	third := env.Login(t, "alice")
	all := true
	pres, err := env.Client.UserLogoutPostWithResponse(ctx, &models.UserLogoutPostParams{All: &all}, testenv.Auth(other))
	if err != nil || pres.StatusCode() != 200 {
		t.Fatalf("logout all: status %d: %s", pres.StatusCode(), pres.Body)
	}
	for _, tk := range []string{other, third} {
		if code := friendsStatus(t, env, tk); code != 401 {
			t.Errorf("after logout all: status %d, want 401", code)
		}
	}
	// A new login works again.
	if code := friendsStatus(t, env, env.Login(t, "alice")); code != 200 {
		t.Errorf("new login after logout all: status %d", code)
	}
}

func TestRevocationHoldsOnEveryInstance(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	peer := env.Peer(t)
	tok := env.Register(t, "alice")
	if code := friendsStatus(t, peer, tok); code != 200 {
		t.Fatalf("peer before logout: %d", code)
	}
	if res, err := env.Client.UserLogoutWithResponse(ctx, nil, testenv.Auth(tok)); err != nil || res.StatusCode() != 200 {
		t.Fatalf("logout: %v", err)
	}
	if code := friendsStatus(t, peer, tok); code != 401 {
		t.Errorf("peer after logout: %d, want 401", code)
	}
}

func TestLogoutNeedsToken(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	for _, edit := range []client.RequestEditorFn{
		func(context.Context, *http.Request) error { return nil },
		testenv.Auth("not-a-jwt"),
		testenv.Auth("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"),
	} {
		res, err := env.Client.UserLogoutWithResponse(ctx, nil, edit)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 401 || res.JSON401 == nil {
			t.Errorf("status %d: %s", res.StatusCode(), res.Body)
		}
	}
}

func TestBcryptHashesAreAcceptedAndUpgraded(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	env.Register(t, "legacy")
	hash, err := bcrypt.GenerateFromPassword([]byte("old-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE users SET password_hash = $1 WHERE account = 'legacy'", string(hash)); err != nil {
		t.Fatal(err)
	}
	res, err := env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "legacy", Password: "old-password"})
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("bcrypt login: status %d: %s", res.StatusCode(), res.Body)
	}
	var stored string
	if err := conn.QueryRow(ctx, "SELECT password_hash FROM users WHERE account = 'legacy'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	// Upgraded to argon2id with the configured parameters.
	if want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=1$", env.Config.Accounts.PasswordMemoryKiB, env.Config.Accounts.PasswordTime); !strings.HasPrefix(stored, want) {
		t.Errorf("hash not upgraded to %s...: %.30s...", want, stored)
	}
	res, err = env.Client.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: "legacy", Password: "old-password"})
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("login after upgrade: status %d", res.StatusCode())
	}
}

// TestHashesFollowTheConfiguredParameters: registration hashes with the
// configured argon2id parameters; once they change, the next login replaces
// the stored hash by one made with the new ones, and later logins keep it.
func TestHashesFollowTheConfiguredParameters(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Accounts.PasswordMemoryKiB, c.Accounts.PasswordTime = 96, 1 }))
	env.Register(t, "mover")
	conn, err := pgx.Connect(ctx, env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	stored := func() string {
		t.Helper()
		var h string
		if err := conn.QueryRow(ctx, "SELECT password_hash FROM users WHERE account = 'mover'").Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := stored(); !strings.HasPrefix(h, "$argon2id$v=19$m=96,t=1,p=1$") {
		t.Fatalf("registered hash %.32s...: not made with m=96,t=1", h)
	}
	env.Config.Accounts.PasswordMemoryKiB, env.Config.Accounts.PasswordTime = 128, 2
	env.Restart(t)
	env.Login(t, "mover")
	upgraded := stored()
	if !strings.HasPrefix(upgraded, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash after login with new parameters %.32s...: not made with m=128,t=2", upgraded)
	}
	env.Login(t, "mover")
	if again := stored(); again != upgraded {
		t.Errorf("a login with current parameters rehashed: %.32s... became %.32s...", upgraded, again)
	}
}

func TestConcurrentRegistrationOfOneAccount(t *testing.T) {
	t.Parallel()
	// Every attempt is hashed, one after the other on a small machine: none
	// may be turned away for lack of a hashing slot.
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.Accounts.HashWait = time.Minute }))
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := env.Client.UserRegisterWithResponse(ctx, register("race", "123456"))
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = res.StatusCode()
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if ok != 1 {
		t.Errorf("%d registrations succeeded, want 1 (codes %v)", ok, codes)
	}
}

func friendsStatus(t *testing.T, env *testenv.Env, token string) int {
	t.Helper()
	res, err := env.Client.GetFriendsWithResponse(ctx, &models.GetFriendsParams{Account: "alice"}, testenv.Auth(token))
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode()
}
