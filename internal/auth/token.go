package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors returned by Verifier.Verify. All of them mean 401.
var (
	ErrNoToken      = errors.New("no token")
	ErrInvalidToken = errors.New("invalid token")
	ErrExpiredToken = errors.New("expired token")
	ErrRevokedToken = errors.New("revoked token")
)

// Claims are what Tim reads from a verified token.
type Claims struct {
	Account string
	JTI     string
	// Generation is the account's token generation when the token was
	// issued; logging out everywhere bumps it.
	Generation int32
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

// tokenClaims are the JWT's claims: the registered ones plus gen.
type tokenClaims struct {
	jwt.RegisteredClaims
	Generation int32 `json:"gen"`
}

// Source says where a request carried its token.
type Source int

// Token sources, in the order TokenFromRequest looks at them.
const (
	SourceNone Source = iota
	SourceHeader
	SourceBearer
	SourceQuery
)

// TokenFromRequest finds the token in the `token` header, then in
// `Authorization: Bearer`, then in the `token` query parameter.
func TokenFromRequest(r *http.Request) (string, Source) {
	if t := strings.TrimSpace(r.Header.Get("token")); t != "" {
		return t, SourceHeader
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), SourceBearer
	}
	if t := r.URL.Query().Get("token"); t != "" {
		return t, SourceQuery
	}
	return "", SourceNone
}

// Issuer signs tokens with HS256.
type Issuer struct {
	secret []byte
	issuer string
	ttl    time.Duration
	now    func() time.Time
}

// NewIssuer returns an Issuer. secret must hold at least 32 bytes.
func NewIssuer(secret []byte, issuer string, ttl time.Duration) (*Issuer, error) {
	if len(secret) < 32 {
		return nil, errors.New("jwt secret must be at least 32 bytes")
	}
	return &Issuer{secret: secret, issuer: issuer, ttl: ttl, now: time.Now}, nil
}

// Issue returns a new signed token for account in token generation gen.
func (i *Issuer) Issue(account string, gen int32) (string, Claims, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Claims{}, fmt.Errorf("read jti: %w", err)
	}
	now := i.now().Truncate(time.Second)
	c := Claims{Account: account, JTI: hex.EncodeToString(id[:]), Generation: gen, IssuedAt: now, ExpiresAt: now.Add(i.ttl)}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        c.JTI,
			Subject:   account,
			Issuer:    i.issuer,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
		Generation: gen,
	})
	s, err := tok.SignedString(i.secret)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sign token: %w", err)
	}
	return s, c, nil
}

// Parse checks the signature, issuer and lifetime of token.
func (i *Issuer) Parse(token string) (Claims, error) {
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(token, &tc, func(*jwt.Token) (any, error) { return i.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(i.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(i.now),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, ErrExpiredToken
		}
		return Claims{}, ErrInvalidToken
	}
	rc := tc.RegisteredClaims
	if rc.Subject == "" || rc.ID == "" || rc.IssuedAt == nil {
		return Claims{}, ErrInvalidToken
	}
	return Claims{Account: rc.Subject, JTI: rc.ID, Generation: tc.Generation, IssuedAt: rc.IssuedAt.Time, ExpiresAt: rc.ExpiresAt.Time}, nil
}

// RevocationChecker tells whether a parsed token has been revoked.
type RevocationChecker interface {
	Revoked(ctx context.Context, c Claims) (bool, error)
}

// Verifier parses tokens and checks them against revocations.
type Verifier struct {
	issuer  *Issuer
	revoked RevocationChecker
}

// NewVerifier returns a Verifier.
func NewVerifier(issuer *Issuer, revoked RevocationChecker) *Verifier {
	return &Verifier{issuer: issuer, revoked: revoked}
}

// Verify returns the token's claims, or one of ErrNoToken, ErrInvalidToken,
// ErrExpiredToken, ErrRevokedToken, or another error when the check itself
// failed.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if token == "" {
		return Claims{}, ErrNoToken
	}
	c, err := v.issuer.Parse(token)
	if err != nil {
		return Claims{}, err
	}
	revoked, err := v.revoked.Revoked(ctx, c)
	if err != nil {
		return Claims{}, fmt.Errorf("check revocation: %w", err)
	}
	if revoked {
		return Claims{}, ErrRevokedToken
	}
	return c, nil
}

type ctxKey struct{}

// WithClaims returns a context carrying c.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the claims of the request's verified token.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(Claims)
	return c, ok
}
