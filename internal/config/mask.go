package config

import (
	"log/slog"
	"strings"
)

// LogValue lists the effective configuration with secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.HTTP.Addr),
		slog.String("metrics_addr", c.HTTP.MetricsAddr),
		slog.String("data_dir", c.DataDir),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("jwt_secret", mask(c.Auth.JWTSecret)),
		slog.String("jwt_issuer", c.Auth.JWTIssuer),
		slog.Duration("token_ttl", c.Auth.TokenTTL),
		slog.String("log_level", c.LogLevel.String()),
		slog.Any("trusted_proxies", c.HTTP.TrustedProxies),
		slog.Duration("shutdown_timeout", c.HTTP.ShutdownTimeout),
		slog.Int64("max_json_body", c.HTTP.MaxJSONBody),
		slog.Duration("read_header_timeout", c.HTTP.ReadHeaderTimeout),
		slog.Duration("body_timeout", c.HTTP.BodyTimeout),
		slog.Duration("idle_timeout", c.HTTP.IdleTimeout),
		slog.Int64("upload_min_bytes", c.HTTP.UploadMinBytes),
		slog.Duration("upload_min_window", c.HTTP.UploadMinWindow),
		slog.Int("uploads_per_account", c.Media.UploadsPerAccount),
		slog.Int("login_failures_per_account", c.Accounts.LoginFailuresPerAccount),
		slog.Duration("login_account_window", c.Accounts.LoginAccountWindow),
		slog.Int("login_failures_per_address", c.Accounts.LoginFailuresPerAddress),
		slog.Duration("login_address_window", c.Accounts.LoginAddressWindow),
		slog.Int("registrations_per_address", c.Accounts.RegistrationsPerAddress),
		slog.Duration("registration_window", c.Accounts.RegistrationWindow),
		slog.Int("hash_concurrency", c.Accounts.HashConcurrency),
		slog.Int("hash_queue", c.Accounts.HashQueue),
		slog.Duration("hash_wait", c.Accounts.HashWait),
		slog.Int("password_memory_kib", c.Accounts.PasswordMemoryKiB),
		slog.Int("password_time", c.Accounts.PasswordTime),
		slog.Int("group_member_limit", c.Social.GroupMemberLimit),
		slog.String("default_join_policy", c.Social.DefaultJoinPolicy),
		slog.Bool("join_creates_group", c.Social.JoinCreatesGroup),
		slog.Int("join_failures_per_account", c.Social.JoinFailuresPerAccount),
		slog.Duration("join_failure_window", c.Social.JoinFailureWindow),
		slog.Int64("max_avatar_bytes", c.Media.MaxAvatarBytes),
		slog.Int64("max_chatpic_bytes", c.Media.MaxChatPicBytes),
		slog.Int64("max_mp3_bytes", c.Media.MaxMP3Bytes),
		slog.Int64("max_mp4_bytes", c.Media.MaxMP4Bytes),
		slog.String("nats_url", maskNATSURL(c.NATS.URL)),
		slog.String("nats_creds", c.NATS.CredsFile),
		slog.String("nats_nkey", c.NATS.NKeyFile),
		slog.String("nats_ca", c.NATS.CAFile),
		slog.String("nats_cert", c.NATS.CertFile),
		slog.String("nats_key", c.NATS.KeyFile),
		slog.String("instance_id", c.Realtime.InstanceID),
		slog.Any("allowed_origins", c.HTTP.AllowedOrigins),
		slog.Duration("presence_timeout", c.Realtime.PresenceTimeout),
		slog.Int64("max_frame_bytes", c.Realtime.MaxFrameBytes),
		slog.Float64("send_rate", c.Realtime.SendRate),
		slog.Int("send_burst", c.Realtime.SendBurst),
		slog.Int("sockets_per_user", c.Realtime.SocketsPerUser),
		slog.Int("socket_queue_bytes", c.Realtime.SocketQueueBytes),
		slog.Duration("write_timeout", c.Realtime.WriteTimeout),
		slog.Duration("commit_timeout", c.Realtime.CommitTimeout),
		slog.Duration("recall_window", c.Realtime.RecallWindow),
		slog.Duration("ping_interval", c.Realtime.PingInterval),
		slog.Duration("pong_timeout", c.Realtime.PongTimeout),
		slog.Duration("rights_recheck_degraded", c.Realtime.RightsRecheckDegraded),
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
