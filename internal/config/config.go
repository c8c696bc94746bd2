// Package config reads Tim's configuration from the environment and flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of a Tim server. Load fills it from TIM_*
// environment variables, overridden by flags.
type Config struct {
	// Addr is the HTTP listen address. TIM_ADDR, -addr. Default ":8081".
	Addr string
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// (such as 127.0.0.1:9091) instead of on Addr. TIM_METRICS_ADDR.
	// Default empty: /metrics on Addr.
	MetricsAddr string
	// DataDir holds the private PostgreSQL cluster, uploaded media and the
	// generated JWT secret. TIM_DATA_DIR, -data. Default "./data".
	DataDir string
	// DatabaseURL is an external PostgreSQL. Empty: run a private cluster
	// under DataDir. TIM_DATABASE_URL.
	DatabaseURL string
	// JWTSecret signs tokens, at least 32 bytes. Empty: generate one and keep
	// it in DataDir. TIM_JWT_SECRET.
	JWTSecret string
	// JWTIssuer is the tokens' iss claim. TIM_JWT_ISSUER. Default "tim".
	JWTIssuer string
	// TokenTTL is how long a token lives. TIM_TOKEN_TTL. Default 1h.
	TokenTTL time.Duration
	// LogLevel is debug, info, warn or error. TIM_LOG_LEVEL. Default info.
	LogLevel slog.Level
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	// TIM_TRUSTED_PROXIES, comma-separated addresses or CIDR prefixes. Default none.
	TrustedProxies []netip.Prefix
	// ShutdownTimeout bounds the graceful shutdown. TIM_SHUTDOWN_TIMEOUT. Default 15s.
	ShutdownTimeout time.Duration
	// MaxJSONBody limits JSON request bodies, in bytes. TIM_MAX_JSON_BODY. Default 65536.
	MaxJSONBody int64
	// ReadHeaderTimeout bounds reading a request's line and headers; a
	// client slower than that is disconnected. TIM_READ_HEADER_TIMEOUT.
	// Default 10s.
	ReadHeaderTimeout time.Duration
	// BodyTimeout bounds reading a request body other than a multipart
	// upload; a slower body is answered 408. TIM_BODY_TIMEOUT. Default 10s.
	BodyTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that sends no further
	// request for this long. TIM_IDLE_TIMEOUT. Default 2m.
	IdleTimeout time.Duration
	// UploadMinBytes must arrive in every UploadMinWindow of a multipart
	// upload, else it is answered 408. TIM_UPLOAD_MIN_BYTES, in bytes.
	// Default 65536.
	UploadMinBytes int64
	// UploadMinWindow. TIM_UPLOAD_MIN_WINDOW. Default 30s.
	UploadMinWindow time.Duration
	// UploadsPerAccount is how many uploads one account may have in flight
	// on one instance; one more is answered 429. TIM_UPLOADS_PER_ACCOUNT.
	// Default 4.
	UploadsPerAccount int

	// LoginFailuresPerAccount failed logins per account per LoginAccountWindow
	// before 429. TIM_LOGIN_FAILURES_PER_ACCOUNT. Default 10.
	LoginFailuresPerAccount int
	// LoginAccountWindow. TIM_LOGIN_ACCOUNT_WINDOW. Default 15m.
	LoginAccountWindow time.Duration
	// LoginFailuresPerAddress failed logins per client address per
	// LoginAddressWindow before 429. TIM_LOGIN_FAILURES_PER_ADDRESS. Default 100.
	LoginFailuresPerAddress int
	// LoginAddressWindow. TIM_LOGIN_ADDRESS_WINDOW. Default 1m.
	LoginAddressWindow time.Duration
	// RegistrationsPerAddress registrations per client address per
	// RegistrationWindow before 429. TIM_REGISTRATIONS_PER_ADDRESS. Default 60.
	RegistrationsPerAddress int
	// RegistrationWindow. TIM_REGISTRATION_WINDOW. Default 1m.
	RegistrationWindow time.Duration

	// HashConcurrency is how many password hashes and checks run at once;
	// each takes PasswordMemoryKiB (19 MiB by default) and a core for tens of
	// milliseconds.
	// TIM_HASH_CONCURRENCY. Default: the usable cores (GOMAXPROCS) less
	// one, at least one. The spare core keeps every other request
	// responsive: with every core hashing, the rest of the server runs
	// only when the scheduler preempts a hash, every 10 ms.
	HashConcurrency int
	// HashQueue is how many more registrations and logins may wait for a
	// hashing slot; beyond it they get 503. TIM_HASH_QUEUE, 0 for no
	// waiting. Default 64.
	HashQueue int
	// HashWait is the longest a request waits for a hashing slot before it
	// gets 503. TIM_HASH_WAIT. Default 3s.
	HashWait time.Duration
	// PasswordMemoryKiB is the memory each argon2id password hash takes, in
	// KiB, from 8 to 262144. TIM_PASSWORD_MEMORY_KIB. Default 19456 (19 MiB).
	// Stored hashes made with other parameters are replaced at the next
	// login.
	PasswordMemoryKiB int
	// PasswordTime is the number of argon2id passes over that memory, from
	// 1 to 16. TIM_PASSWORD_TIME. Default 2.
	PasswordTime int

	// GroupMemberLimit is the most members a group may have.
	// TIM_GROUP_MEMBER_LIMIT. Default 500.
	GroupMemberLimit int

	// MaxAvatarBytes limits /uploadheadpic. TIM_MAX_AVATAR_BYTES. Default 10 MiB.
	MaxAvatarBytes int64
	// MaxChatPicBytes limits /uploadchatpic. TIM_MAX_CHATPIC_BYTES. Default 10 MiB.
	MaxChatPicBytes int64
	// MaxMP3Bytes limits /uploadmp3. TIM_MAX_MP3_BYTES. Default 20 MiB.
	MaxMP3Bytes int64
	// MaxMP4Bytes limits /uploadmp4. TIM_MAX_MP4_BYTES. Default 200 MiB.
	MaxMP4Bytes int64

	// NATSURL joins an external NATS cluster: one URL or a comma-separated
	// list, with credentials if the server requires them
	// (nats://user:password@host:4222 or nats://token@host:4222; tls://
	// requires TLS). Empty: embed a NATS server on 127.0.0.1 that admits only
	// this process, by a random token. TIM_NATS_URL.
	NATSURL string
	// NATSCredsFile is a NATS creds file (user JWT and NKey seed).
	// TIM_NATS_CREDS. Default none; needs TIM_NATS_URL.
	NATSCredsFile string
	// NATSNKeyFile is a file holding an NKey seed to authenticate with.
	// TIM_NATS_NKEY. Default none; needs TIM_NATS_URL, excludes TIM_NATS_CREDS.
	NATSNKeyFile string
	// NATSCAFile is the PEM CA that signed the NATS server's certificate,
	// instead of the system roots; it makes TLS required. TIM_NATS_CA.
	// Default none; needs TIM_NATS_URL.
	NATSCAFile string
	// NATSCertFile and NATSKeyFile are the PEM client certificate and key
	// for a NATS server that verifies clients. TIM_NATS_CERT, TIM_NATS_KEY.
	// Default none; both or neither; need TIM_NATS_URL.
	NATSCertFile string
	NATSKeyFile  string
	// InstanceID names this instance for presence. TIM_INSTANCE_ID. Default random.
	InstanceID string
	// AllowedOrigins are the browser origins whose pages may call the API
	// from another origin (CORS) and open WebSockets, besides same-origin
	// and clients that send no Origin: exact origins (scheme://host[:port],
	// no path), or "*" for every origin. TIM_ALLOWED_ORIGINS,
	// comma-separated. Default none (same origin only).
	AllowedOrigins []string
	// PresenceTimeout after which a silent instance's users show offline.
	// TIM_PRESENCE_TIMEOUT. Default 30s.
	PresenceTimeout time.Duration
	// MaxFrameBytes limits one WebSocket frame. TIM_MAX_FRAME_BYTES. Default 65536.
	MaxFrameBytes int64
	// SendRate is the sustained frames per second a socket may send, and
	// SendBurst its burst. TIM_SEND_RATE (default 50), TIM_SEND_BURST (default 100).
	SendRate  float64
	SendBurst int
	// SocketsPerUser limits concurrent sockets of one account.
	// TIM_SOCKETS_PER_USER. Default 10.
	SocketsPerUser int
	// SocketQueueBytes is how many bytes of outgoing frames a socket may
	// have queued before it is closed as a slow reader (4000).
	// TIM_SOCKET_QUEUE_BYTES. Default 4 MiB.
	SocketQueueBytes int
	// CommitTimeout bounds the commit of one batch of sends; a send not
	// committed in time gets an error frame (503). It bounds the write of
	// one batch of read cursors too. TIM_COMMIT_TIMEOUT. Default 5s.
	CommitTimeout time.Duration
	// RecallWindow is how long after it was stored its sender may recall a
	// message. TIM_RECALL_WINDOW. Default 2m.
	RecallWindow time.Duration
	// WriteTimeout bounds one write to a socket; a client that takes no
	// bytes for this long is disconnected. TIM_WRITE_TIMEOUT. Default 10s.
	WriteTimeout time.Duration
	// PingInterval between server pings. TIM_PING_INTERVAL. Default 30s.
	PingInterval time.Duration
	// PongTimeout closes a socket that has not answered for this long.
	// TIM_PONG_TIMEOUT. Default 60s.
	PongTimeout time.Duration
}

// The bounds of PasswordMemoryKiB and PasswordTime: those within which
// internal/auth checks stored hashes (argon2 refuses less than 8 KiB or no
// pass; more would let a stored hash make a login cost without bound).
const (
	MinPasswordMemoryKiB = 8
	MaxPasswordMemoryKiB = 256 << 10
	MinPasswordTime      = 1
	MaxPasswordTime      = 16
)

// Default returns the configuration with every default applied.
func Default() Config {
	return Config{
		Addr:                    ":8081",
		DataDir:                 "./data",
		JWTIssuer:               "tim",
		TokenTTL:                time.Hour,
		LogLevel:                slog.LevelInfo,
		ShutdownTimeout:         15 * time.Second,
		MaxJSONBody:             64 << 10,
		ReadHeaderTimeout:       10 * time.Second,
		BodyTimeout:             10 * time.Second,
		IdleTimeout:             2 * time.Minute,
		UploadMinBytes:          64 << 10,
		UploadMinWindow:         30 * time.Second,
		UploadsPerAccount:       4,
		LoginFailuresPerAccount: 10,
		LoginAccountWindow:      15 * time.Minute,
		LoginFailuresPerAddress: 100,
		LoginAddressWindow:      time.Minute,
		RegistrationsPerAddress: 60,
		RegistrationWindow:      time.Minute,
		HashConcurrency:         max(1, runtime.GOMAXPROCS(0)-1),
		HashQueue:               64,
		HashWait:                3 * time.Second,
		PasswordMemoryKiB:       19 * 1024,
		PasswordTime:            2,
		GroupMemberLimit:        500,
		MaxAvatarBytes:          10 << 20,
		MaxChatPicBytes:         10 << 20,
		MaxMP3Bytes:             20 << 20,
		MaxMP4Bytes:             200 << 20,
		PresenceTimeout:         30 * time.Second,
		MaxFrameBytes:           64 << 10,
		SendRate:                50,
		SendBurst:               100,
		SocketsPerUser:          10,
		SocketQueueBytes:        4 << 20,
		WriteTimeout:            10 * time.Second,
		CommitTimeout:           5 * time.Second,
		RecallWindow:            2 * time.Minute,
		PingInterval:            30 * time.Second,
		PongTimeout:             60 * time.Second,
	}
}

// Load reads the environment through getenv, then the flags in args
// (without the program name).
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Default()
	var errs []error
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	dur := func(key string, dst *time.Duration) {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: want a positive duration such as 30s, got %q", key, v))
				return
			}
			*dst = d
		}
	}
	num := func(key string, dst *int64) {
		if v := getenv(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s: want a positive integer, got %q", key, v))
				return
			}
			*dst = n
		}
	}
	inum := func(key string, dst *int) {
		n := int64(*dst)
		num(key, &n)
		*dst = int(n)
	}
	count := func(key string, dst *int) { // like inum, but 0 is allowed
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s: want a non-negative integer, got %q", key, v))
				return
			}
			*dst = n
		}
	}
	ranged := func(key string, dst *int, lo, hi int) {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				errs = append(errs, fmt.Errorf("%s: want an integer from %d to %d, got %q", key, lo, hi, v))
				return
			}
			*dst = n
		}
	}
	str("TIM_ADDR", &c.Addr)
	str("TIM_METRICS_ADDR", &c.MetricsAddr)
	str("TIM_DATA_DIR", &c.DataDir)
	str("TIM_DATABASE_URL", &c.DatabaseURL)
	str("TIM_JWT_SECRET", &c.JWTSecret)
	str("TIM_JWT_ISSUER", &c.JWTIssuer)
	dur("TIM_TOKEN_TTL", &c.TokenTTL)
	if v := getenv("TIM_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("TIM_LOG_LEVEL: %w", err))
		}
	}
	if v := getenv("TIM_TRUSTED_PROXIES"); v != "" {
		p, err := ParsePrefixes(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TIM_TRUSTED_PROXIES: %w", err))
		}
		c.TrustedProxies = p
	}
	dur("TIM_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	num("TIM_MAX_JSON_BODY", &c.MaxJSONBody)
	dur("TIM_READ_HEADER_TIMEOUT", &c.ReadHeaderTimeout)
	dur("TIM_BODY_TIMEOUT", &c.BodyTimeout)
	dur("TIM_IDLE_TIMEOUT", &c.IdleTimeout)
	num("TIM_UPLOAD_MIN_BYTES", &c.UploadMinBytes)
	dur("TIM_UPLOAD_MIN_WINDOW", &c.UploadMinWindow)
	inum("TIM_UPLOADS_PER_ACCOUNT", &c.UploadsPerAccount)
	inum("TIM_LOGIN_FAILURES_PER_ACCOUNT", &c.LoginFailuresPerAccount)
	dur("TIM_LOGIN_ACCOUNT_WINDOW", &c.LoginAccountWindow)
	inum("TIM_LOGIN_FAILURES_PER_ADDRESS", &c.LoginFailuresPerAddress)
	dur("TIM_LOGIN_ADDRESS_WINDOW", &c.LoginAddressWindow)
	inum("TIM_REGISTRATIONS_PER_ADDRESS", &c.RegistrationsPerAddress)
	dur("TIM_REGISTRATION_WINDOW", &c.RegistrationWindow)
	inum("TIM_HASH_CONCURRENCY", &c.HashConcurrency)
	count("TIM_HASH_QUEUE", &c.HashQueue)
	dur("TIM_HASH_WAIT", &c.HashWait)
	ranged("TIM_PASSWORD_MEMORY_KIB", &c.PasswordMemoryKiB, MinPasswordMemoryKiB, MaxPasswordMemoryKiB)
	ranged("TIM_PASSWORD_TIME", &c.PasswordTime, MinPasswordTime, MaxPasswordTime)
	inum("TIM_GROUP_MEMBER_LIMIT", &c.GroupMemberLimit)
	num("TIM_MAX_AVATAR_BYTES", &c.MaxAvatarBytes)
	num("TIM_MAX_CHATPIC_BYTES", &c.MaxChatPicBytes)
	num("TIM_MAX_MP3_BYTES", &c.MaxMP3Bytes)
	num("TIM_MAX_MP4_BYTES", &c.MaxMP4Bytes)
	str("TIM_NATS_URL", &c.NATSURL)
	str("TIM_NATS_CREDS", &c.NATSCredsFile)
	str("TIM_NATS_NKEY", &c.NATSNKeyFile)
	str("TIM_NATS_CA", &c.NATSCAFile)
	str("TIM_NATS_CERT", &c.NATSCertFile)
	str("TIM_NATS_KEY", &c.NATSKeyFile)
	str("TIM_INSTANCE_ID", &c.InstanceID)
	if v := getenv("TIM_ALLOWED_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				if !isOrigin(o) {
					errs = append(errs, fmt.Errorf("TIM_ALLOWED_ORIGINS: want origins such as https://app.example.com (scheme and host, no path) or *, got %q", o))
				}
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
		}
	}
	dur("TIM_PRESENCE_TIMEOUT", &c.PresenceTimeout)
	num("TIM_MAX_FRAME_BYTES", &c.MaxFrameBytes)
	if v := getenv("TIM_SEND_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Errorf("TIM_SEND_RATE: want a positive finite number, got %q", v))
		}
		c.SendRate = f
	}
	inum("TIM_SEND_BURST", &c.SendBurst)
	inum("TIM_SOCKETS_PER_USER", &c.SocketsPerUser)
	inum("TIM_SOCKET_QUEUE_BYTES", &c.SocketQueueBytes)
	dur("TIM_WRITE_TIMEOUT", &c.WriteTimeout)
	dur("TIM_COMMIT_TIMEOUT", &c.CommitTimeout)
	dur("TIM_RECALL_WINDOW", &c.RecallWindow)
	dur("TIM_PING_INTERVAL", &c.PingInterval)
	dur("TIM_PONG_TIMEOUT", &c.PongTimeout)

	fs := flag.NewFlagSet("tim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "HTTP listen address (TIM_ADDR)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (TIM_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "external PostgreSQL URL (TIM_DATABASE_URL)")
	fs.StringVar(&c.NATSURL, "nats-url", c.NATSURL, "external NATS URL (TIM_NATS_URL)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, errors.New("TIM_JWT_SECRET: must be at least 32 bytes"))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("TIM_METRICS_ADDR: want host:port such as 127.0.0.1:9091, got %q", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, errors.New("TIM_METRICS_ADDR: must differ from TIM_ADDR"))
		}
	}
	errs = append(errs, c.checkNATS()...)
	return c, errors.Join(errs...)
}

// checkNATS rejects NATS credential settings that cannot take effect.
func (c Config) checkNATS() []error {
	var errs []error
	if c.NATSURL == "" {
		for key, v := range map[string]string{
			"TIM_NATS_CREDS": c.NATSCredsFile, "TIM_NATS_NKEY": c.NATSNKeyFile,
			"TIM_NATS_CA": c.NATSCAFile, "TIM_NATS_CERT": c.NATSCertFile, "TIM_NATS_KEY": c.NATSKeyFile,
		} {
			if v != "" {
				errs = append(errs, fmt.Errorf("%s: needs TIM_NATS_URL; the embedded NATS server uses its own token", key))
			}
		}
	}
	if c.NATSCredsFile != "" && c.NATSNKeyFile != "" {
		errs = append(errs, errors.New("TIM_NATS_NKEY: set either TIM_NATS_CREDS or TIM_NATS_NKEY, not both"))
	}
	if (c.NATSCertFile == "") != (c.NATSKeyFile == "") {
		errs = append(errs, errors.New("TIM_NATS_CERT, TIM_NATS_KEY: set both or neither"))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// ParsePrefixes parses comma-separated addresses or CIDR prefixes.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// LogValue lists the effective configuration with secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("data_dir", c.DataDir),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("jwt_secret", mask(c.JWTSecret)),
		slog.String("jwt_issuer", c.JWTIssuer),
		slog.Duration("token_ttl", c.TokenTTL),
		slog.String("log_level", c.LogLevel.String()),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Int64("max_json_body", c.MaxJSONBody),
		slog.Duration("read_header_timeout", c.ReadHeaderTimeout),
		slog.Duration("body_timeout", c.BodyTimeout),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.Int64("upload_min_bytes", c.UploadMinBytes),
		slog.Duration("upload_min_window", c.UploadMinWindow),
		slog.Int("uploads_per_account", c.UploadsPerAccount),
		slog.Int("login_failures_per_account", c.LoginFailuresPerAccount),
		slog.Duration("login_account_window", c.LoginAccountWindow),
		slog.Int("login_failures_per_address", c.LoginFailuresPerAddress),
		slog.Duration("login_address_window", c.LoginAddressWindow),
		slog.Int("registrations_per_address", c.RegistrationsPerAddress),
		slog.Duration("registration_window", c.RegistrationWindow),
		slog.Int("hash_concurrency", c.HashConcurrency),
		slog.Int("hash_queue", c.HashQueue),
		slog.Duration("hash_wait", c.HashWait),
		slog.Int("password_memory_kib", c.PasswordMemoryKiB),
		slog.Int("password_time", c.PasswordTime),
		slog.Int("group_member_limit", c.GroupMemberLimit),
		slog.Int64("max_avatar_bytes", c.MaxAvatarBytes),
		slog.Int64("max_chatpic_bytes", c.MaxChatPicBytes),
		slog.Int64("max_mp3_bytes", c.MaxMP3Bytes),
		slog.Int64("max_mp4_bytes", c.MaxMP4Bytes),
		slog.String("nats_url", maskNATSURL(c.NATSURL)),
		slog.String("nats_creds", c.NATSCredsFile),
		slog.String("nats_nkey", c.NATSNKeyFile),
		slog.String("nats_ca", c.NATSCAFile),
		slog.String("nats_cert", c.NATSCertFile),
		slog.String("nats_key", c.NATSKeyFile),
		slog.String("instance_id", c.InstanceID),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Duration("presence_timeout", c.PresenceTimeout),
		slog.Int64("max_frame_bytes", c.MaxFrameBytes),
		slog.Float64("send_rate", c.SendRate),
		slog.Int("send_burst", c.SendBurst),
		slog.Int("sockets_per_user", c.SocketsPerUser),
		slog.Int("socket_queue_bytes", c.SocketQueueBytes),
		slog.Duration("write_timeout", c.WriteTimeout),
		slog.Duration("commit_timeout", c.CommitTimeout),
		slog.Duration("recall_window", c.RecallWindow),
		slog.Duration("ping_interval", c.PingInterval),
		slog.Duration("pong_timeout", c.PongTimeout),
	)
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// maskURL hides the password in a PostgreSQL connection string, in either
// form that pgx accepts: a URL (postgres://user:pw@host/db, and a password
// query parameter) or keyword/value pairs (host=db password=secret). A
// keyword/value string that cannot be parsed is hidden whole, since where
// its password lies is unknown.
func maskURL(s string) string {
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return maskPostgresURL(s)
	}
	masked, ok := maskKeywordValue(s)
	if !ok {
		return "***"
	}
	return masked
}

// maskPostgresURL hides the password of the userinfo and the value of any
// password query parameter of a postgres:// URL.
func maskPostgresURL(s string) string {
	scheme := strings.Index(s, "://") + 3
	rest, fragment, _ := strings.Cut(s[scheme:], "#")
	authority, query, hasQuery := strings.Cut(rest, "?")
	path := ""
	if i := strings.Index(authority, "/"); i >= 0 {
		authority, path = authority[:i], authority[i:]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		if user, _, ok := strings.Cut(authority[:at], ":"); ok {
			authority = user + ":***" + authority[at:]
		}
	}
	out := s[:scheme] + authority + path
	if hasQuery {
		params := strings.Split(query, "&")
		for i, p := range params {
			if key, _, _ := strings.Cut(p, "="); strings.EqualFold(key, "password") {
				params[i] = key + "=***"
			}
		}
		out += "?" + strings.Join(params, "&")
	}
	if fragment != "" {
		out += "#" + fragment
	}
	return out
}

// maskKeywordValue replaces the value of every password keyword of a
// keyword/value connection string (key = value pairs separated by spaces;
// a value is bare or single-quoted, with backslash escapes) by ***. It
// reports false when s is not such a string.
func maskKeywordValue(s string) (string, bool) {
	var out strings.Builder
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			out.WriteByte(s[i])
			i++
		}
		if i == len(s) {
			return out.String(), true
		}
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if key == "" || i == len(s) || s[i] != '=' {
			return "", false
		}
		i++ // '='
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		valueStart := i
		if i < len(s) && s[i] == '\'' {
			for i++; ; i++ {
				if i >= len(s) {
					return "", false // unterminated quote
				}
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '\'' {
					i++
					break
				}
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i = min(i, len(s))
		}
		out.WriteString(s[start:valueStart])
		if key == "password" {
			out.WriteString("***")
		} else {
			out.WriteString(s[valueStart:i])
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// maskNATSURL hides the credentials of NATS URLs, a comma-separated list of
// nats://user:password@host (the password is hidden) or nats://token@host
// (the token is hidden).
func maskNATSURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		start := 0
		if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
			start = scheme + 3
		}
		if user, _, ok := strings.Cut(p[start:at], ":"); ok {
			parts[i] = p[:start] + user + ":***" + p[at:]
		} else {
			parts[i] = p[:start] + "***" + p[at:]
		}
	}
	return strings.Join(parts, ",")
}

// isOrigin reports whether o is "*" or a browser origin: http or https, a
// host, an optional port, and nothing else (a browser's Origin header never
// has a path, so an entry with one would never match).
func isOrigin(o string) bool {
	if o == "*" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(o, "?") && !strings.HasSuffix(o, "#")
}
