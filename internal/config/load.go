package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
	str("TIM_DATA_DIR", &c.DataDir)
	str("TIM_DATABASE_URL", &c.DatabaseURL)
	if v := getenv("TIM_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("TIM_LOG_LEVEL: %w", err))
		}
	}

	str("TIM_ADDR", &c.HTTP.Addr)
	str("TIM_METRICS_ADDR", &c.HTTP.MetricsAddr)
	if v := getenv("TIM_TRUSTED_PROXIES"); v != "" {
		p, err := ParsePrefixes(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TIM_TRUSTED_PROXIES: %w", err))
		}
		c.HTTP.TrustedProxies = p
	}
	if v := getenv("TIM_ALLOWED_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				if !isOrigin(o) {
					errs = append(errs, fmt.Errorf("TIM_ALLOWED_ORIGINS: want origins such as https://app.example.com (scheme and host, no path) or *, got %q", o))
				}
				c.HTTP.AllowedOrigins = append(c.HTTP.AllowedOrigins, o)
			}
		}
	}
	dur("TIM_SHUTDOWN_TIMEOUT", &c.HTTP.ShutdownTimeout)
	num("TIM_MAX_JSON_BODY", &c.HTTP.MaxJSONBody)
	dur("TIM_READ_HEADER_TIMEOUT", &c.HTTP.ReadHeaderTimeout)
	dur("TIM_BODY_TIMEOUT", &c.HTTP.BodyTimeout)
	dur("TIM_IDLE_TIMEOUT", &c.HTTP.IdleTimeout)
	num("TIM_UPLOAD_MIN_BYTES", &c.HTTP.UploadMinBytes)
	dur("TIM_UPLOAD_MIN_WINDOW", &c.HTTP.UploadMinWindow)

	str("TIM_JWT_SECRET", &c.Auth.JWTSecret)
	str("TIM_JWT_ISSUER", &c.Auth.JWTIssuer)
	dur("TIM_TOKEN_TTL", &c.Auth.TokenTTL)

	inum("TIM_LOGIN_FAILURES_PER_ACCOUNT", &c.Accounts.LoginFailuresPerAccount)
	dur("TIM_LOGIN_ACCOUNT_WINDOW", &c.Accounts.LoginAccountWindow)
	inum("TIM_LOGIN_FAILURES_PER_ADDRESS", &c.Accounts.LoginFailuresPerAddress)
	dur("TIM_LOGIN_ADDRESS_WINDOW", &c.Accounts.LoginAddressWindow)
	inum("TIM_REGISTRATIONS_PER_ADDRESS", &c.Accounts.RegistrationsPerAddress)
	dur("TIM_REGISTRATION_WINDOW", &c.Accounts.RegistrationWindow)
	inum("TIM_HASH_CONCURRENCY", &c.Accounts.HashConcurrency)
	count("TIM_HASH_QUEUE", &c.Accounts.HashQueue)
	dur("TIM_HASH_WAIT", &c.Accounts.HashWait)
	ranged("TIM_PASSWORD_MEMORY_KIB", &c.Accounts.PasswordMemoryKiB, MinPasswordMemoryKiB, MaxPasswordMemoryKiB)
	ranged("TIM_PASSWORD_TIME", &c.Accounts.PasswordTime, MinPasswordTime, MaxPasswordTime)

	inum("TIM_GROUP_MEMBER_LIMIT", &c.Social.GroupMemberLimit)
	if v := getenv("TIM_DEFAULT_JOIN_POLICY"); v != "" {
		switch v {
		case "open", "approval", "invite":
			c.Social.DefaultJoinPolicy = v
		default:
			errs = append(errs, fmt.Errorf("TIM_DEFAULT_JOIN_POLICY: want open, approval or invite, got %q", v))
		}
	}
	if v := getenv("TIM_JOIN_CREATES_GROUP"); v != "" {
		if b, err := strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("TIM_JOIN_CREATES_GROUP: want true or false, got %q", v))
		} else {
			c.Social.JoinCreatesGroup = b
		}
	}
	count("TIM_JOIN_FAILURES_PER_ACCOUNT", &c.Social.JoinFailuresPerAccount)
	dur("TIM_JOIN_FAILURE_WINDOW", &c.Social.JoinFailureWindow)

	dur("TIM_FRIEND_REQUEST_TTL", &c.Social.FriendRequestTTL)

	inum("TIM_UPLOADS_PER_ACCOUNT", &c.Media.UploadsPerAccount)
	num("TIM_MAX_AVATAR_BYTES", &c.Media.MaxAvatarBytes)
	num("TIM_MAX_CHATPIC_BYTES", &c.Media.MaxChatPicBytes)
	num("TIM_MAX_MP3_BYTES", &c.Media.MaxMP3Bytes)
	num("TIM_MAX_MP4_BYTES", &c.Media.MaxMP4Bytes)

	str("TIM_NATS_URL", &c.NATS.URL)
	str("TIM_NATS_CREDS", &c.NATS.CredsFile)
	str("TIM_NATS_NKEY", &c.NATS.NKeyFile)
	str("TIM_NATS_CA", &c.NATS.CAFile)
	str("TIM_NATS_CERT", &c.NATS.CertFile)
	str("TIM_NATS_KEY", &c.NATS.KeyFile)

	str("TIM_INSTANCE_ID", &c.Realtime.InstanceID)
	dur("TIM_PRESENCE_TIMEOUT", &c.Realtime.PresenceTimeout)
	num("TIM_MAX_FRAME_BYTES", &c.Realtime.MaxFrameBytes)
	if v := getenv("TIM_SEND_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Errorf("TIM_SEND_RATE: want a positive finite number, got %q", v))
		}
		c.Realtime.SendRate = f
	}
	inum("TIM_SEND_BURST", &c.Realtime.SendBurst)
	inum("TIM_SOCKETS_PER_USER", &c.Realtime.SocketsPerUser)
	inum("TIM_SOCKET_QUEUE_BYTES", &c.Realtime.SocketQueueBytes)
	dur("TIM_COMMIT_TIMEOUT", &c.Realtime.CommitTimeout)
	dur("TIM_RECALL_WINDOW", &c.Realtime.RecallWindow)
	dur("TIM_WRITE_TIMEOUT", &c.Realtime.WriteTimeout)
	dur("TIM_PING_INTERVAL", &c.Realtime.PingInterval)
	dur("TIM_PONG_TIMEOUT", &c.Realtime.PongTimeout)
	dur("TIM_RIGHTS_RECHECK_DEGRADED", &c.Realtime.RightsRecheckDegraded)

	fs := flag.NewFlagSet("tim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.HTTP.Addr, "addr", c.HTTP.Addr, "HTTP listen address (TIM_ADDR)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (TIM_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "external PostgreSQL URL (TIM_DATABASE_URL)")
	fs.StringVar(&c.NATS.URL, "nats-url", c.NATS.URL, "external NATS URL (TIM_NATS_URL)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	if c.Auth.JWTSecret != "" && len(c.Auth.JWTSecret) < 32 {
		errs = append(errs, errors.New("TIM_JWT_SECRET: must be at least 32 bytes"))
	}
	if c.HTTP.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("TIM_METRICS_ADDR: want host:port such as 127.0.0.1:9091, got %q", c.HTTP.MetricsAddr))
		} else if c.HTTP.MetricsAddr == c.HTTP.Addr {
			errs = append(errs, errors.New("TIM_METRICS_ADDR: must differ from TIM_ADDR"))
		}
	}
	if strings.ContainsAny(c.Realtime.InstanceID, "*> \t\r\n") {
		// The id ends the bus subjects on which the instance hears of
		// changes of rights.
		errs = append(errs, fmt.Errorf("TIM_INSTANCE_ID: want no spaces, '*' or '>', got %q", c.Realtime.InstanceID))
	}
	errs = append(errs, c.NATS.check()...)
	return c, errors.Join(errs...)
}

// check rejects NATS credential settings that cannot take effect.
func (n NATS) check() []error {
	var errs []error
	if n.URL == "" {
		for key, v := range map[string]string{
			"TIM_NATS_CREDS": n.CredsFile, "TIM_NATS_NKEY": n.NKeyFile,
			"TIM_NATS_CA": n.CAFile, "TIM_NATS_CERT": n.CertFile, "TIM_NATS_KEY": n.KeyFile,
		} {
			if v != "" {
				errs = append(errs, fmt.Errorf("%s: needs TIM_NATS_URL; the embedded NATS server uses its own token", key))
			}
		}
	}
	if n.CredsFile != "" && n.NKeyFile != "" {
		errs = append(errs, errors.New("TIM_NATS_NKEY: set either TIM_NATS_CREDS or TIM_NATS_NKEY, not both"))
	}
	if (n.CertFile == "") != (n.KeyFile == "") {
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
