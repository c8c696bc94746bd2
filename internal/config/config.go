// Package config reads Tim's configuration from the environment and flags.
//
// The settings are grouped in sections, one for each part of the server
// that reads them; package app hands each section to its part whole. This
// package imports nothing of Tim's, so that any package may take its
// section from here.
//
// config.go holds the settings with their variables and defaults, load.go
// reads and checks them, and mask.go logs them with secrets masked.
package config

import (
	"log/slog"
	"net/netip"
	"runtime"
	"time"
)

// Config is every setting of a Tim server. Load fills it from TIM_*
// environment variables, overridden by flags.
type Config struct {
	// DataDir holds the private PostgreSQL cluster, uploaded media and the
	// generated JWT secret. TIM_DATA_DIR, -data. Default "./data".
	DataDir string
	// DatabaseURL is an external PostgreSQL. Empty: run a private cluster
	// under DataDir. TIM_DATABASE_URL, -database-url.
	DatabaseURL string
	// LogLevel is debug, info, warn or error. TIM_LOG_LEVEL. Default info.
	LogLevel slog.Level

	HTTP     HTTP
	Auth     Auth
	Accounts Accounts
	Social   Social
	Media    Media
	NATS     NATS
	Realtime Realtime
}

// HTTP is the HTTP server's section: its listeners, the bounds on
// connections and request bodies, and whom it believes and admits.
type HTTP struct {
	// Addr is the HTTP listen address. TIM_ADDR, -addr. Default ":8081".
	Addr string
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// (such as 127.0.0.1:9091) instead of on Addr. TIM_METRICS_ADDR.
	// Default empty: /metrics on Addr.
	MetricsAddr string
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	// TIM_TRUSTED_PROXIES, comma-separated addresses or CIDR prefixes. Default none.
	TrustedProxies []netip.Prefix
	// AllowedOrigins are the browser origins whose pages may call the API
	// from another origin (CORS) and open WebSockets, besides same-origin
	// and clients that send no Origin: exact origins (scheme://host[:port],
	// no path), or "*" for every origin. TIM_ALLOWED_ORIGINS,
	// comma-separated. Default none (same origin only).
	AllowedOrigins []string
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
}

// Auth is the section of the tokens: how they are signed and how long they
// live.
type Auth struct {
	// JWTSecret signs tokens, at least 32 bytes. Empty: generate one and keep
	// it in DataDir. TIM_JWT_SECRET.
	JWTSecret string
	// JWTIssuer is the tokens' iss claim. TIM_JWT_ISSUER. Default "tim".
	JWTIssuer string
	// TokenTTL is how long a token lives. TIM_TOKEN_TTL. Default 1h.
	TokenTTL time.Duration
}

// Accounts is the section of registration and login: how many attempts
// they may make, and what each password hash costs.
type Accounts struct {
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
}

// Social is the section of friends and groups.
type Social struct {
	// GroupMemberLimit is the most members a group may have.
	// TIM_GROUP_MEMBER_LIMIT. Default 500.
	GroupMemberLimit int
	// DefaultJoinPolicy is the join policy of groups that have none of
	// their own: those created before policies existed, by a join, or
	// without one. open, approval or invite. TIM_DEFAULT_JOIN_POLICY.
	// Default "open", the original behaviour.
	DefaultJoinPolicy string
	// JoinCreatesGroup: a join of a group id that does not exist creates
	// that group, as the original API did; false answers 404.
	// TIM_JOIN_CREATES_GROUP. Default true.
	JoinCreatesGroup bool
	// JoinFailuresPerAccount refused joins (403 and 404) per account per
	// JoinFailureWindow before every join of the account gets 429, so that
	// group ids cannot be probed cheaply. TIM_JOIN_FAILURES_PER_ACCOUNT, 0
	// for no limit. Default 20.
	JoinFailuresPerAccount int
	// JoinFailureWindow. TIM_JOIN_FAILURE_WINDOW. Default 15m.
	JoinFailureWindow time.Duration
	// FriendRequestTTL is how long a friend request waits for its answer
	// before it expires. TIM_FRIEND_REQUEST_TTL. Default 168h (7 days).
	FriendRequestTTL time.Duration
}

// Media is the section of uploads: how large each kind may be, and how many
// one account may have in flight.
type Media struct {
	// UploadsPerAccount is how many uploads one account may have in flight
	// on one instance; one more is answered 429. TIM_UPLOADS_PER_ACCOUNT.
	// Default 4.
	UploadsPerAccount int
	// MaxAvatarBytes limits /uploadheadpic. TIM_MAX_AVATAR_BYTES. Default 10 MiB.
	MaxAvatarBytes int64
	// MaxChatPicBytes limits /uploadchatpic. TIM_MAX_CHATPIC_BYTES. Default 10 MiB.
	MaxChatPicBytes int64
	// MaxMP3Bytes limits /uploadmp3. TIM_MAX_MP3_BYTES. Default 20 MiB.
	MaxMP3Bytes int64
	// MaxMP4Bytes limits /uploadmp4. TIM_MAX_MP4_BYTES. Default 200 MiB.
	MaxMP4Bytes int64
}

// Largest is the largest upload of any kind, in bytes.
func (m Media) Largest() int64 {
	return max(m.MaxAvatarBytes, m.MaxChatPicBytes, m.MaxMP3Bytes, m.MaxMP4Bytes)
}

// NATS is the section of the bus between instances: which NATS to join,
// and how to prove who this instance is.
type NATS struct {
	// URL joins an external NATS cluster: one URL or a comma-separated
	// list, with credentials if the server requires them
	// (nats://user:password@host:4222 or nats://token@host:4222; tls://
	// requires TLS). Empty: embed a NATS server on 127.0.0.1 that admits only
	// this process, by a random token. TIM_NATS_URL, -nats-url.
	URL string
	// CredsFile is a NATS creds file (user JWT and NKey seed).
	// TIM_NATS_CREDS. Default none; needs TIM_NATS_URL.
	CredsFile string
	// NKeyFile is a file holding an NKey seed to authenticate with.
	// TIM_NATS_NKEY. Default none; needs TIM_NATS_URL, excludes TIM_NATS_CREDS.
	NKeyFile string
	// CAFile is the PEM CA that signed the NATS server's certificate,
	// instead of the system roots; it makes TLS required. TIM_NATS_CA.
	// Default none; needs TIM_NATS_URL.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key for a
	// NATS server that verifies clients. TIM_NATS_CERT, TIM_NATS_KEY.
	// Default none; both or neither; need TIM_NATS_URL.
	CertFile string
	KeyFile  string
}

// Realtime is the WebSockets' section: presence, what a socket may send,
// what it may hold queued, and how long each step may take.
type Realtime struct {
	// InstanceID names this instance in presence rows and bus subjects
	// (no spaces, '*' or '>'); each run adds a random suffix.
	// TIM_INSTANCE_ID. Default random: the suffix alone.
	InstanceID string
	// PresenceTimeout after which a silent instance's users show offline.
	// Instances beat a heartbeat every third of it (10s at most); a change
	// of rights waits for none whose last beat is older than two beats and
	// a second. TIM_PRESENCE_TIMEOUT. Default 30s.
	PresenceTimeout time.Duration
	// MaxFrameBytes limits one WebSocket frame a client sends.
	// TIM_MAX_FRAME_BYTES. Default 65536.
	MaxFrameBytes int64
	// SendRate is the sustained frames per second a socket may send, and
	// SendBurst its burst. TIM_SEND_RATE (default 50), TIM_SEND_BURST (default 100).
	SendRate  float64
	SendBurst int
	// SocketsPerUser limits concurrent sockets of one account on this
	// instance. TIM_SOCKETS_PER_USER. Default 10.
	SocketsPerUser int
	// SocketQueueBytes is how many bytes of outgoing frames a socket may
	// have queued before it is closed as a slow reader (4000).
	// TIM_SOCKET_QUEUE_BYTES. Default 4 MiB.
	SocketQueueBytes int
	// CommitTimeout bounds the commit of one batch of sends; a send not
	// committed in time gets an error frame (503). It bounds a recall, and
	// the write of one batch of read cursors too. TIM_COMMIT_TIMEOUT.
	// Default 5s.
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
	// RightsRecheckDegraded is how often, while the bus is disconnected,
	// the instance re-reads the rights of its open sockets from the
	// database (every minute while it is up): a logout, leave or unfriend
	// served by another instance holds here within this bound.
	// TIM_RIGHTS_RECHECK_DEGRADED. Default 2s.
	RightsRecheckDegraded time.Duration
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
		DataDir:  "./data",
		LogLevel: slog.LevelInfo,
		HTTP: HTTP{
			Addr:              ":8081",
			ShutdownTimeout:   15 * time.Second,
			MaxJSONBody:       64 << 10,
			ReadHeaderTimeout: 10 * time.Second,
			BodyTimeout:       10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			UploadMinBytes:    64 << 10,
			UploadMinWindow:   30 * time.Second,
		},
		Auth: Auth{
			JWTIssuer: "tim",
			TokenTTL:  time.Hour,
		},
		Accounts: Accounts{
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
		},
		Social: Social{
			GroupMemberLimit:       500,
			DefaultJoinPolicy:      "open",
			JoinCreatesGroup:       true,
			JoinFailuresPerAccount: 20,
			JoinFailureWindow:      15 * time.Minute,
			FriendRequestTTL:       7 * 24 * time.Hour,
		},
		Media: Media{
			UploadsPerAccount: 4,
			MaxAvatarBytes:    10 << 20,
			MaxChatPicBytes:   10 << 20,
			MaxMP3Bytes:       20 << 20,
			MaxMP4Bytes:       200 << 20,
		},
		Realtime: Realtime{
			PresenceTimeout:       30 * time.Second,
			MaxFrameBytes:         64 << 10,
			SendRate:              50,
			SendBurst:             100,
			SocketsPerUser:        10,
			SocketQueueBytes:      4 << 20,
			WriteTimeout:          10 * time.Second,
			CommitTimeout:         5 * time.Second,
			RecallWindow:          2 * time.Minute,
			PingInterval:          30 * time.Second,
			PongTimeout:           60 * time.Second,
			RightsRecheckDegraded: 2 * time.Second,
		},
	}
}
