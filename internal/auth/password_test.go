package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// phc returns an argon2id PHC string of password with the given parameters,
// as an older version of Tim (or another system) may have stored it.
func phc(password string, memory, time uint32, threads uint8, keyLen uint32) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, time, memory, threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", memory, time, threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestHashPasswordFormat(t *testing.T) {
	t.Parallel()
	a, err := HashPassword("secret-pass")
	if err != nil {
		t.Fatal(err)
	}
	// 16-byte salt and 32-byte key, unpadded standard base64.
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(a) {
		t.Errorf("hash %q is not the documented PHC string", a)
	}
	b, err := HashPassword("secret-pass")
	if err != nil || a == b {
		t.Errorf("two hashes of one password are equal (%v): the salt is not random", err)
	}
	if stale, err := CheckPassword(a, "secret-pass"); err != nil || stale {
		t.Errorf("fresh hash: stale %v, err %v", stale, err)
	}
	if _, err := CheckPassword(a, "secret-pasS"); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: err = %v, want ErrMismatch", err)
	}
	if _, err := CheckPassword(a, ""); !errors.Is(err, ErrMismatch) {
		t.Errorf("empty password: err = %v, want ErrMismatch", err)
	}
}

// TestCheckPasswordAsksForRehash: a hash made with other parameters than
// today's, or by bcrypt, still verifies and is reported stale.
func TestCheckPasswordAsksForRehash(t *testing.T) {
	t.Parallel()
	for name, hash := range map[string]string{
		"less memory":     phc("pw", 8*1024, 2, 1, 32),
		"more passes":     phc("pw", 19*1024, 3, 1, 32),
		"two lanes":       phc("pw", 19*1024, 2, 2, 32),
		"shorter key":     phc("pw", 19*1024, 2, 1, 16),
		"bcrypt $2a$":     bcryptHash(t, "pw", "$2a$"),
		"bcrypt $2b$":     bcryptHash(t, "pw", "$2b$"),
		"bcrypt $2y$":     bcryptHash(t, "pw", "$2y$"),
		"today's, by phc": phc("pw", argonMemory, argonTime, argonThreads, argonKeyLen),
	} {
		stale, err := CheckPassword(hash, "pw")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := name != "today's, by phc"; stale != want {
			t.Errorf("%s: stale = %v, want %v", name, stale, want)
		}
		if _, err := CheckPassword(hash, "wrong"); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s, wrong password: err = %v, want ErrMismatch", name, err)
		}
	}
}

// TestHasherVerifyRehashes: Verify hands back a fresh hash with today's
// parameters for a stale one, and none for a current one.
func TestHasherVerifyRehashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(1, 4, time.Minute)
	for _, old := range []string{phc("pw", 8*1024, 1, 1, 32), bcryptHash(t, "pw", "$2a$")} {
		fresh, err := h.Verify(ctx, old, "pw")
		if err != nil || fresh == "" {
			t.Fatalf("stale hash: fresh %q, err %v", fresh, err)
		}
		if !strings.HasPrefix(fresh, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("fresh hash %q has other parameters than today's", fresh)
		}
		if stale, err := CheckPassword(fresh, "pw"); err != nil || stale {
			t.Errorf("fresh hash: stale %v, err %v", stale, err)
		}
		if again, err := h.Verify(ctx, fresh, "pw"); err != nil || again != "" {
			t.Errorf("current hash: fresh %q, err %v; want none", again, err)
		}
		if fresh, err := h.Verify(ctx, old, "wrong"); !errors.Is(err, ErrMismatch) || fresh != "" {
			t.Errorf("wrong password: fresh %q, err %v", fresh, err)
		}
	}
}

func bcryptHash(t *testing.T, password, prefix string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(b[4:])
}

// TestCheckPasswordRefusesMalformedHashes: a stored hash that cannot be
// parsed is an error, never a match, and not ErrMismatch (the password is
// not what is wrong).
func TestCheckPasswordRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	good := phc("pw", 8*1024, 1, 1, 32)
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, hash := range map[string]string{
		"empty":               "",
		"plain text":          "pw",
		"argon2i":             strings.Replace(good, "$argon2id$", "$argon2i$", 1),
		"scrypt":              "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA",
		"too few fields":      strings.Join(parts[:5], "$"),
		"too many fields":     good + "$extra",
		"version 16":          with(2, "v=16"),
		"version not numeric": with(2, "v=x"),
		"no version":          with(2, "m=8192,t=1,p=1"),
		"params not numeric":  with(3, "m=a,t=1,p=1"),
		"params separated ;":  with(3, "m=8192;t=1;p=1"),
		"params reordered":    with(3, "t=1,m=8192,p=1"),
		"lanes out of range":  with(3, "m=8192,t=1,p=256"),
		"negative memory":     with(3, "m=-1,t=1,p=1"),
		"salt not base64":     with(4, "!!!!"),
		"key not base64":      with(5, "@@@@"),
		"padded base64 key":   with(5, parts[5]+"="),
		"bcrypt truncated":    bcryptHash(t, "pw", "$2a$")[:20],
		// argon2 itself panics on these, or would take without bound.
		"zero time":   with(3, "m=8192,t=0,p=1"),
		"zero lanes":  with(3, "m=8192,t=1,p=0"),
		"huge memory": with(3, "m=4194304,t=1,p=1"),
		"huge time":   with(3, "m=8192,t=1000,p=1"),
		"empty key":   with(5, ""),
	} {
		stale, err := CheckPassword(hash, "pw")
		if err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("%s (%q): stale %v, err %v; want a parse error", name, hash, stale, err)
		}
	}
}
