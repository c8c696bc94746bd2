package config_test

import (
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tim/internal/auth"
	"tim/internal/config"
)

// setting is one TIM_* variable: a value other than its default, and a
// check that Load put it in the right field.
type setting struct {
	key, value string
	applied    func(config.Config) bool
}

var settings = []setting{
	{"TIM_ADDR", "127.0.0.1:9000", func(c config.Config) bool { return c.HTTP.Addr == "127.0.0.1:9000" }},
	{"TIM_DATA_DIR", "/var/lib/tim", func(c config.Config) bool { return c.DataDir == "/var/lib/tim" }},
	{"TIM_DATABASE_URL", "postgres://tim@db/tim", func(c config.Config) bool { return c.DatabaseURL == "postgres://tim@db/tim" }},
	{"TIM_JWT_SECRET", strings.Repeat("s", 32), func(c config.Config) bool { return c.Auth.JWTSecret == strings.Repeat("s", 32) }},
	{"TIM_JWT_ISSUER", "tim-test", func(c config.Config) bool { return c.Auth.JWTIssuer == "tim-test" }},
	{"TIM_TOKEN_TTL", "90m", func(c config.Config) bool { return c.Auth.TokenTTL == 90*time.Minute }},
	{"TIM_LOG_LEVEL", "warn", func(c config.Config) bool { return c.LogLevel.String() == "WARN" }},
	{"TIM_TRUSTED_PROXIES", "10.0.0.7, 192.168.1.0/24", func(c config.Config) bool {
		return slices.Equal(c.HTTP.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32"), netip.MustParsePrefix("192.168.1.0/24")})
	}},
	{"TIM_SHUTDOWN_TIMEOUT", "3s", func(c config.Config) bool { return c.HTTP.ShutdownTimeout == 3*time.Second }},
	{"TIM_MAX_JSON_BODY", "1024", func(c config.Config) bool { return c.HTTP.MaxJSONBody == 1024 }},
	{"TIM_READ_HEADER_TIMEOUT", "4s", func(c config.Config) bool { return c.HTTP.ReadHeaderTimeout == 4*time.Second }},
	{"TIM_BODY_TIMEOUT", "5s", func(c config.Config) bool { return c.HTTP.BodyTimeout == 5*time.Second }},
	{"TIM_IDLE_TIMEOUT", "6s", func(c config.Config) bool { return c.HTTP.IdleTimeout == 6*time.Second }},
	{"TIM_UPLOAD_MIN_BYTES", "1000", func(c config.Config) bool { return c.HTTP.UploadMinBytes == 1000 }},
	{"TIM_UPLOAD_MIN_WINDOW", "7s", func(c config.Config) bool { return c.HTTP.UploadMinWindow == 7*time.Second }},
	{"TIM_UPLOADS_PER_ACCOUNT", "2", func(c config.Config) bool { return c.Media.UploadsPerAccount == 2 }},
	{"TIM_LOGIN_FAILURES_PER_ACCOUNT", "3", func(c config.Config) bool { return c.Accounts.LoginFailuresPerAccount == 3 }},
	{"TIM_LOGIN_ACCOUNT_WINDOW", "8m", func(c config.Config) bool { return c.Accounts.LoginAccountWindow == 8*time.Minute }},
	{"TIM_LOGIN_FAILURES_PER_ADDRESS", "4", func(c config.Config) bool { return c.Accounts.LoginFailuresPerAddress == 4 }},
	{"TIM_LOGIN_ADDRESS_WINDOW", "9m", func(c config.Config) bool { return c.Accounts.LoginAddressWindow == 9*time.Minute }},
	{"TIM_REGISTRATIONS_PER_ADDRESS", "5", func(c config.Config) bool { return c.Accounts.RegistrationsPerAddress == 5 }},
	{"TIM_REGISTRATION_WINDOW", "10m", func(c config.Config) bool { return c.Accounts.RegistrationWindow == 10*time.Minute }},
	{"TIM_HASH_CONCURRENCY", "6", func(c config.Config) bool { return c.Accounts.HashConcurrency == 6 }},
	{"TIM_HASH_QUEUE", "0", func(c config.Config) bool { return c.Accounts.HashQueue == 0 }},
	{"TIM_HASH_WAIT", "11s", func(c config.Config) bool { return c.Accounts.HashWait == 11*time.Second }},
	{"TIM_PASSWORD_MEMORY_KIB", "65536", func(c config.Config) bool { return c.Accounts.PasswordMemoryKiB == 65536 }},
	{"TIM_PASSWORD_TIME", "3", func(c config.Config) bool { return c.Accounts.PasswordTime == 3 }},
	{"TIM_GROUP_MEMBER_LIMIT", "7", func(c config.Config) bool { return c.Social.GroupMemberLimit == 7 }},
	{"TIM_DEFAULT_JOIN_POLICY", "approval", func(c config.Config) bool { return c.Social.DefaultJoinPolicy == "approval" }},
	{"TIM_JOIN_CREATES_GROUP", "false", func(c config.Config) bool { return !c.Social.JoinCreatesGroup }},
	{"TIM_JOIN_FAILURES_PER_ACCOUNT", "3", func(c config.Config) bool { return c.Social.JoinFailuresPerAccount == 3 }},
	{"TIM_JOIN_FAILURE_WINDOW", "2m", func(c config.Config) bool { return c.Social.JoinFailureWindow == 2*time.Minute }},
	{"TIM_FRIEND_REQUEST_TTL", "24h", func(c config.Config) bool { return c.Social.FriendRequestTTL == 24*time.Hour }},
	{"TIM_MAX_AVATAR_BYTES", "101", func(c config.Config) bool { return c.Media.MaxAvatarBytes == 101 }},
	{"TIM_MAX_CHATPIC_BYTES", "102", func(c config.Config) bool { return c.Media.MaxChatPicBytes == 102 }},
	{"TIM_MAX_MP3_BYTES", "103", func(c config.Config) bool { return c.Media.MaxMP3Bytes == 103 }},
	{"TIM_MAX_MP4_BYTES", "104", func(c config.Config) bool { return c.Media.MaxMP4Bytes == 104 }},
	{"TIM_NATS_URL", "nats://n:4222", func(c config.Config) bool { return c.NATS.URL == "nats://n:4222" }},
	{"TIM_NATS_CREDS", "/etc/tim/nats.creds", func(c config.Config) bool { return c.NATS.CredsFile == "/etc/tim/nats.creds" }},
	{"TIM_NATS_NKEY", "", nil}, // excludes TIM_NATS_CREDS: TestLoadNATSNKey
	{"TIM_NATS_CA", "/etc/tim/ca.pem", func(c config.Config) bool { return c.NATS.CAFile == "/etc/tim/ca.pem" }},
	{"TIM_NATS_CERT", "/etc/tim/cert.pem", func(c config.Config) bool { return c.NATS.CertFile == "/etc/tim/cert.pem" }},
	{"TIM_NATS_KEY", "/etc/tim/key.pem", func(c config.Config) bool { return c.NATS.KeyFile == "/etc/tim/key.pem" }},
	{"TIM_INSTANCE_ID", "node-7", func(c config.Config) bool { return c.Realtime.InstanceID == "node-7" }},
	{"TIM_ALLOWED_ORIGINS", "https://a.example, ,https://b.example", func(c config.Config) bool {
		return slices.Equal(c.HTTP.AllowedOrigins, []string{"https://a.example", "https://b.example"})
	}},
	{"TIM_PRESENCE_TIMEOUT", "12s", func(c config.Config) bool { return c.Realtime.PresenceTimeout == 12*time.Second }},
	{"TIM_MAX_FRAME_BYTES", "2048", func(c config.Config) bool { return c.Realtime.MaxFrameBytes == 2048 }},
	{"TIM_SEND_RATE", "2.5", func(c config.Config) bool { return c.Realtime.SendRate == 2.5 }},
	{"TIM_SEND_BURST", "8", func(c config.Config) bool { return c.Realtime.SendBurst == 8 }},
	{"TIM_SOCKETS_PER_USER", "9", func(c config.Config) bool { return c.Realtime.SocketsPerUser == 9 }},
	{"TIM_SOCKET_QUEUE_BYTES", "4096", func(c config.Config) bool { return c.Realtime.SocketQueueBytes == 4096 }},
	{"TIM_WRITE_TIMEOUT", "13s", func(c config.Config) bool { return c.Realtime.WriteTimeout == 13*time.Second }},
	{"TIM_COMMIT_TIMEOUT", "14s", func(c config.Config) bool { return c.Realtime.CommitTimeout == 14*time.Second }},
	{"TIM_PING_INTERVAL", "15s", func(c config.Config) bool { return c.Realtime.PingInterval == 15*time.Second }},
	{"TIM_PONG_TIMEOUT", "16s", func(c config.Config) bool { return c.Realtime.PongTimeout == 16*time.Second }},
	{"TIM_RECALL_WINDOW", "17s", func(c config.Config) bool { return c.Realtime.RecallWindow == 17*time.Second }},
	{"TIM_RIGHTS_RECHECK_DEGRADED", "18s", func(c config.Config) bool { return c.Realtime.RightsRecheckDegraded == 18*time.Second }},
	{"TIM_METRICS_ADDR", "127.0.0.1:9091", func(c config.Config) bool { return c.HTTP.MetricsAddr == "127.0.0.1:9091" }},
}

// TestSettingsCoverEveryVariable: every TIM_* variable that load.go reads
// has a row in settings, so a new one cannot go untested.
func TestSettingsCoverEveryVariable(t *testing.T) {
	t.Parallel()
	read := readVariables(t)
	tested := map[string]bool{}
	for _, s := range settings {
		if tested[s.key] {
			t.Errorf("%s has two rows", s.key)
		}
		tested[s.key] = true
		if !read[s.key] {
			t.Errorf("%s has a row but load.go does not read it", s.key)
		}
	}
	for key := range read {
		if !tested[key] {
			t.Errorf("load.go reads %s, which has no row in settings", key)
		}
	}
}

// TestLoadEveryVariable: each variable, set alone, lands in its field and
// changes nothing else; all of them set together load without error.
func TestLoadEveryVariable(t *testing.T) {
	t.Parallel()
	def := config.Default()
	all := map[string]string{}
	for _, s := range settings {
		if s.applied == nil {
			continue
		}
		all[s.key] = s.value
		if s.applied(def) {
			t.Errorf("%s=%s: the default already has this value, so the test proves nothing", s.key, s.value)
		}
		env := map[string]string{s.key: s.value}
		if strings.HasPrefix(s.key, "TIM_NATS_") && s.key != "TIM_NATS_URL" {
			env["TIM_NATS_URL"] = "nats://n:4222"
		}
		if s.key == "TIM_NATS_CERT" || s.key == "TIM_NATS_KEY" {
			env["TIM_NATS_CERT"], env["TIM_NATS_KEY"] = "/etc/tim/cert.pem", "/etc/tim/key.pem"
		}
		c, err := load(env)
		if err != nil {
			t.Errorf("%s=%s: %v", s.key, s.value, err)
			continue
		}
		if !s.applied(c) {
			t.Errorf("%s=%s: not applied: %+v", s.key, s.value, c)
		}
	}
	c, err := load(all)
	if err != nil {
		t.Fatalf("every variable at once: %v", err)
	}
	for _, s := range settings {
		if s.applied != nil && !s.applied(c) {
			t.Errorf("every variable at once: %s not applied", s.key)
		}
	}
}

func TestLoadNATSNKey(t *testing.T) {
	t.Parallel()
	c, err := load(map[string]string{"TIM_NATS_URL": "nats://n:4222", "TIM_NATS_NKEY": "/etc/tim/tim.nk"})
	if err != nil || c.NATS.NKeyFile != "/etc/tim/tim.nk" {
		t.Errorf("NATSNKeyFile = %q, %v", c.NATS.NKeyFile, err)
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	if c.HTTP.Addr != ":8081" || c.DataDir != "./data" || c.Auth.JWTIssuer != "tim" || c.Auth.TokenTTL != time.Hour ||
		c.HTTP.MaxJSONBody != 64<<10 || c.Realtime.SocketQueueBytes != 4<<20 || c.Accounts.HashConcurrency < 1 || c.DatabaseURL != "" {
		t.Errorf("defaults: %+v", c)
	}
	if c.Accounts.PasswordMemoryKiB != 19*1024 || c.Accounts.PasswordTime != 2 {
		t.Errorf("password hashing defaults: m=%d KiB, t=%d; want RFC 9106's second option with 19 MiB (m=19456, t=2)", c.Accounts.PasswordMemoryKiB, c.Accounts.PasswordTime)
	}
	if c.Accounts.HashConcurrency != def.Accounts.HashConcurrency || c.Realtime.PongTimeout != def.Realtime.PongTimeout {
		t.Errorf("Load without variables differs from Default: %+v", c)
	}
}

// TestLoadRefusesBadValues: a bad value is an error naming the variable.
func TestLoadRefusesBadValues(t *testing.T) {
	t.Parallel()
	// The helpers Load reads each variable with, from its source.
	src, err := os.ReadFile("load.go")
	if err != nil {
		t.Fatal(err)
	}
	readBy := func(helper string) []string {
		var keys []string
		for _, m := range regexp.MustCompile(`\b`+helper+`\("(TIM_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
			keys = append(keys, m[1])
		}
		return keys
	}
	durations, positive, counts := readBy("dur"), append(readBy("num"), readBy("inum")...), readBy("count")
	if len(durations) < 15 || len(positive) < 16 || len(counts) < 2 {
		t.Fatalf("found %d durations, %d positive integers and %d counts in load.go", len(durations), len(positive), len(counts))
	}
	type bad struct{ key, value, want string }
	var cases []bad
	for _, k := range durations {
		for _, v := range []string{"0", "-1s", "10", "soon"} {
			cases = append(cases, bad{k, v, "want a positive duration"})
		}
	}
	for _, k := range positive {
		for _, v := range []string{"0", "-5", "1.5", "many", "99999999999999999999"} {
			cases = append(cases, bad{k, v, "want a positive integer"})
		}
	}
	for _, k := range counts {
		for _, v := range []string{"-1", "few"} {
			cases = append(cases, bad{k, v, "want a non-negative integer"})
		}
	}
	cases = append(cases,
		bad{"TIM_SEND_RATE", "0", "want a positive finite number"},
		bad{"TIM_SEND_RATE", "-2", "want a positive finite number"},
		bad{"TIM_SEND_RATE", "fast", "want a positive finite number"},
		bad{"TIM_SEND_RATE", "NaN", "want a positive finite number"},
		bad{"TIM_SEND_RATE", "+Inf", "want a positive finite number"},
		bad{"TIM_LOG_LEVEL", "loud", "TIM_LOG_LEVEL"},
		bad{"TIM_TRUSTED_PROXIES", "10.0.0.1,proxy.example", `"proxy.example" is neither an address nor a prefix`},
		bad{"TIM_TRUSTED_PROXIES", "10.0.0.0/33", "is neither an address nor a prefix"},
		bad{"TIM_JWT_SECRET", "short", "must be at least 32 bytes"},
		bad{"TIM_PASSWORD_MEMORY_KIB", "0", "want an integer from 8 to 262144"},
		bad{"TIM_PASSWORD_MEMORY_KIB", "7", "want an integer from 8 to 262144"},
		bad{"TIM_PASSWORD_MEMORY_KIB", "262145", "want an integer from 8 to 262144"},
		bad{"TIM_PASSWORD_MEMORY_KIB", "-64", "want an integer from 8 to 262144"},
		bad{"TIM_PASSWORD_MEMORY_KIB", "19MiB", "want an integer from 8 to 262144"},
		bad{"TIM_PASSWORD_MEMORY_KIB", "99999999999999999999", "want an integer from 8 to 262144"},
		bad{"TIM_PASSWORD_TIME", "0", "want an integer from 1 to 16"},
		bad{"TIM_PASSWORD_TIME", "17", "want an integer from 1 to 16"},
		bad{"TIM_PASSWORD_TIME", "-1", "want an integer from 1 to 16"},
		bad{"TIM_PASSWORD_TIME", "1.5", "want an integer from 1 to 16"},
		bad{"TIM_PASSWORD_TIME", "twice", "want an integer from 1 to 16"},
		bad{"TIM_DEFAULT_JOIN_POLICY", "closed", "want open, approval or invite"},
		bad{"TIM_DEFAULT_JOIN_POLICY", "OPEN", "want open, approval or invite"},
		bad{"TIM_INSTANCE_ID", "node 7", "want no spaces, '*' or '>'"},
		bad{"TIM_INSTANCE_ID", "node-*", "want no spaces, '*' or '>'"},
		bad{"TIM_INSTANCE_ID", "node>", "want no spaces, '*' or '>'"},
		bad{"TIM_JOIN_CREATES_GROUP", "maybe", "want true or false"},
	)
	for _, tc := range cases {
		_, err := load(map[string]string{tc.key: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: err = %v, want one naming %s: %s", tc.key, tc.value, err, tc.key, tc.want)
		}
	}

	// Every bad variable is reported, not only the first.
	_, err = load(map[string]string{"TIM_TOKEN_TTL": "x", "TIM_SEND_BURST": "0", "TIM_LOG_LEVEL": "loud"})
	for _, key := range []string{"TIM_TOKEN_TTL", "TIM_SEND_BURST", "TIM_LOG_LEVEL"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("several bad variables: err = %v, does not name %s", err, key)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TIM_ADDR": ":1", "TIM_DATA_DIR": "/env", "TIM_DATABASE_URL": "postgres://env/db", "TIM_NATS_URL": "nats://env"}
	c, err := config.Load([]string{"-addr", ":2", "-data", "/flag", "-database-url", "postgres://flag/db", "-nats-url", "nats://flag"},
		func(k string) string { return env[k] }, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != ":2" || c.DataDir != "/flag" || c.DatabaseURL != "postgres://flag/db" || c.NATS.URL != "nats://flag" {
		t.Errorf("flags did not win: %+v", c)
	}
	if _, err := config.Load([]string{"extra"}, func(string) string { return "" }, discard{}); err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Errorf("stray argument: err = %v", err)
	}
	if _, err := config.Load([]string{"-nope"}, func(string) string { return "" }, discard{}); err == nil {
		t.Error("unknown flag accepted")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestPasswordBoundsAreAuthsBounds: the range Load accepts for the password
// hashing parameters is the range internal/auth hashes and checks with, and
// the defaults are auth's.
func TestPasswordBoundsAreAuthsBounds(t *testing.T) {
	t.Parallel()
	def := config.Default()
	if want := auth.DefaultPasswordParams(); def.Accounts.PasswordMemoryKiB != int(want.MemoryKiB) || def.Accounts.PasswordTime != int(want.Time) {
		t.Errorf("defaults m=%d,t=%d; auth's are %+v", def.Accounts.PasswordMemoryKiB, def.Accounts.PasswordTime, want)
	}
	valid := func(m, tm int) bool {
		return auth.PasswordParams{MemoryKiB: uint32(m), Time: uint32(tm)}.Validate() == nil
	}
	for _, c := range []struct {
		m, t int
		ok   bool
	}{
		{config.MinPasswordMemoryKiB, 2, true}, {config.MinPasswordMemoryKiB - 1, 2, false},
		{config.MaxPasswordMemoryKiB, 2, true}, {config.MaxPasswordMemoryKiB + 1, 2, false},
		{64, config.MinPasswordTime, true}, {64, config.MinPasswordTime - 1, false},
		{64, config.MaxPasswordTime, true}, {64, config.MaxPasswordTime + 1, false},
	} {
		if got := valid(c.m, c.t); got != c.ok {
			t.Errorf("m=%d,t=%d: auth says valid %v, config's bounds say %v", c.m, c.t, got, c.ok)
		}
	}
}
