package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	testNow    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// issuerAt returns an Issuer of "tim" with a one-hour TTL whose clock reads
// *now.
func issuerAt(t *testing.T, issuer string, now *time.Time) *Issuer {
	t.Helper()
	i, err := NewIssuer(testSecret, issuer, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	i.now = func() time.Time { return *now }
	return i
}

// sign signs claims with method and key, as a forger or a foreign issuer
// would.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validClaims are the claims Issue would write at testNow.
func validClaims() tokenClaims {
	return tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID: "0123456789abcdef0123456789abcdef", Subject: "alice", Issuer: "tim",
			IssuedAt: jwt.NewNumericDate(testNow), ExpiresAt: jwt.NewNumericDate(testNow.Add(time.Hour)),
		},
		Generation: 3,
	}
}

func TestNewIssuerRefusesShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := NewIssuer(testSecret[:31], "tim", time.Hour); err == nil {
		t.Error("31-byte secret accepted")
	}
	if _, err := NewIssuer(testSecret, "tim", time.Hour); err != nil {
		t.Errorf("32-byte secret: %v", err)
	}
}

func TestIssueThenParse(t *testing.T) {
	t.Parallel()
	now := testNow.Add(700 * time.Millisecond) // truncated to the second
	iss := issuerAt(t, "tim", &now)
	tok, c, err := iss.Issue("alice", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(c.JTI) {
		t.Errorf("jti %q is not 128 random bits in hex", c.JTI)
	}
	want := Claims{Account: "alice", JTI: c.JTI, Generation: 7, IssuedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}
	if c != want {
		t.Errorf("Issue claims = %+v, want %+v", c, want)
	}
	got, err := iss.Parse(tok)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Parse times = %v, %v", got.IssuedAt, got.ExpiresAt)
	}
	got.IssuedAt, got.ExpiresAt = want.IssuedAt, want.ExpiresAt
	if got != want {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
	_, again, err := iss.Issue("alice", 7)
	if err != nil || again.JTI == c.JTI {
		t.Errorf("second token has jti %q (%v), the first %q", again.JTI, err, c.JTI)
	}
}

func TestParseExpiry(t *testing.T) {
	t.Parallel()
	now := testNow
	iss := issuerAt(t, "tim", &now)
	tok, _, err := iss.Issue("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want error
	}{
		{0, nil},
		{time.Hour - time.Second, nil},
		{time.Hour, ErrExpiredToken},
		{48 * time.Hour, ErrExpiredToken},
	} {
		now = testNow.Add(tc.at)
		if _, err := iss.Parse(tok); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%v after issue: err = %v, want %v", tc.at, err, tc.want)
		}
	}
}

func TestParseRefusesIssuedInTheFuture(t *testing.T) {
	t.Parallel()
	now := testNow
	iss := issuerAt(t, "tim", &now)
	future := validClaims()
	future.IssuedAt = jwt.NewNumericDate(testNow.Add(time.Minute))
	if _, err := iss.Parse(sign(t, jwt.SigningMethodHS256, testSecret, future)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("iat a minute ahead: err = %v, want ErrInvalidToken", err)
	}
	// A token from an instance whose clock runs ahead.
	ahead := testNow.Add(10 * time.Minute)
	tok, _, err := issuerAt(t, "tim", &ahead).Issue("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Parse(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token issued 10m in this clock's future: err = %v, want ErrInvalidToken", err)
	}
}

func TestParseRefusesForeignTokens(t *testing.T) {
	t.Parallel()
	now := testNow
	iss := issuerAt(t, "tim", &now)
	if _, err := iss.Parse(sign(t, jwt.SigningMethodHS256, testSecret, validClaims())); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}
	without := func(f func(*tokenClaims)) tokenClaims {
		c := validClaims()
		f(&c)
		return c
	}
	for name, tok := range map[string]string{
		"empty":            "",
		"not a JWT":        "a.b.c",
		"other issuer":     sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.Issuer = "evil" })),
		"no issuer":        sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.Issuer = "" })),
		"other secret":     sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-32-bytes-at-least"), validClaims()),
		"HS384":            sign(t, jwt.SigningMethodHS384, testSecret, validClaims()),
		"HS512":            sign(t, jwt.SigningMethodHS512, testSecret, validClaims()),
		"alg none":         sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims()),
		"no expiry":        sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.ExpiresAt = nil })),
		"no issued-at":     sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.IssuedAt = nil })),
		"no subject":       sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.Subject = "" })),
		"no jti":           sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.ID = "" })),
		"not yet valid":    sign(t, jwt.SigningMethodHS256, testSecret, without(func(c *tokenClaims) { c.NotBefore = jwt.NewNumericDate(testNow.Add(time.Minute)) })),
		"tampered payload": tamper(t, sign(t, jwt.SigningMethodHS256, testSecret, validClaims())),
	} {
		if _, err := iss.Parse(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
}

// tamper swaps the token's subject for another account, keeping the
// signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	c := validClaims()
	c.Subject = "mallory"
	forged := strings.Split(sign(t, jwt.SigningMethodHS256, []byte("x"), c), ".")
	return parts[0] + "." + forged[1] + "." + parts[2]
}

// revocations is a RevocationChecker answering from a function.
type revocations func(Claims) (bool, error)

func (r revocations) Revoked(_ context.Context, c Claims) (bool, error) { return r(c) }

func TestVerify(t *testing.T) {
	t.Parallel()
	now := testNow
	iss := issuerAt(t, "tim", &now)
	tok, _, err := iss.Issue("alice", 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	broken := errors.New("database down")
	for name, tc := range map[string]struct {
		token   string
		revoked revocations
		want    error
	}{
		"valid":       {tok, func(c Claims) (bool, error) { return c.Account != "alice" || c.Generation != 2, nil }, nil},
		"no token":    {"", func(Claims) (bool, error) { return false, nil }, ErrNoToken},
		"invalid":     {"x", func(Claims) (bool, error) { return false, nil }, ErrInvalidToken},
		"revoked":     {tok, func(Claims) (bool, error) { return true, nil }, ErrRevokedToken},
		"check fails": {tok, func(Claims) (bool, error) { return false, broken }, broken},
	} {
		c, err := NewVerifier(iss, tc.revoked).Verify(ctx, tc.token)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
		if tc.want == nil && c.Account != "alice" {
			t.Errorf("%s: claims %+v", name, c)
		}
		if tc.want == broken && (errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrRevokedToken)) {
			t.Errorf("%s: a failed check reads as a bad token: %v", name, err)
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		header, auth, query string
		want                string
		src                 Source
	}{
		"none":                 {"", "", "", "", SourceNone},
		"header":               {" h ", "Bearer b", "q", "h", SourceHeader},
		"bearer":               {"", "Bearer b", "q", "b", SourceBearer},
		"bearer any case":      {"", "bEARER b ", "", "b", SourceBearer},
		"other scheme":         {"", "Basic dXNlcjpwdw==", "", "", SourceNone},
		"bearer without value": {"", "Bearer ", "q", "q", SourceQuery},
		"query":                {"", "", "q", "q", SourceQuery},
	} {
		r := httptest.NewRequest("GET", "/x?token="+tc.query, nil)
		if tc.header != "" {
			r.Header.Set("token", tc.header)
		}
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got, src := TokenFromRequest(r); got != tc.want || src != tc.src {
			t.Errorf("%s: got %q from %v, want %q from %v", name, got, src, tc.want, tc.src)
		}
	}
}
