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
	def := DefaultPasswordParams()
	a, err := HashPassword("secret-pass", def)
	if err != nil {
		t.Fatal(err)
	}
	// 16-byte salt and 32-byte key, unpadded standard base64.
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(a) {
		t.Errorf("hash %q is not the documented PHC string", a)
	}
	b, err := HashPassword("secret-pass", def)
	if err != nil || a == b {
		t.Errorf("two hashes of one password are equal (%v): the salt is not random", err)
	}
	if stale, err := CheckPassword(a, "secret-pass", def); err != nil || stale {
		t.Errorf("fresh hash: stale %v, err %v", stale, err)
	}
	if _, err := CheckPassword(a, "secret-pasS", def); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: err = %v, want ErrMismatch", err)
	}
	if _, err := CheckPassword(a, "", def); !errors.Is(err, ErrMismatch) {
		t.Errorf("empty password: err = %v, want ErrMismatch", err)
	}
}

// TestHashPasswordUsesItsParameters: the hash is made with, and names, the
// parameters it is given.
func TestHashPasswordUsesItsParameters(t *testing.T) {
	t.Parallel()
	p := PasswordParams{MemoryKiB: 64, Time: 3}
	h, err := HashPassword("pw", p)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h) {
		t.Errorf("hash %q does not name m=64,t=3,p=1", h)
	}
	// The key is argon2id's with those parameters, not the defaults'.
	parts := strings.Split(h, "$")
	salt, _ := base64.RawStdEncoding.DecodeString(parts[4])
	want := base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte("pw"), salt, 3, 64, 1, 32))
	if parts[5] != want {
		t.Errorf("key %s, want argon2id(m=64,t=3,p=1) = %s", parts[5], want)
	}
	if stale, err := CheckPassword(h, "pw", p); err != nil || stale {
		t.Errorf("check with its parameters: stale %v, err %v", stale, err)
	}
}

// TestPasswordParamsValidate: parameters argon2 refuses, or beyond the
// bounds stored hashes are checked within, are refused by Validate, by
// HashPassword and by NewHasher.
func TestPasswordParamsValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []PasswordParams{{8, 1}, {256 << 10, 16}, DefaultPasswordParams()} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for p, want := range map[PasswordParams]string{
		{0, 2}:           "memory: want 8 to 262144 KiB, got 0",
		{7, 2}:           "memory: want 8 to 262144 KiB, got 7",
		{256<<10 + 1, 2}: "memory: want 8 to 262144 KiB, got 262145",
		{19 * 1024, 0}:   "time: want 1 to 16 passes, got 0",
		{19 * 1024, 17}:  "time: want 1 to 16 passes, got 17",
		{0, 0}:           "memory: want 8 to 262144 KiB, got 0\ntime: want 1 to 16 passes, got 0",
	} {
		err := p.Validate()
		if err == nil || err.Error() != want {
			t.Errorf("%+v: err = %v, want %q", p, err, want)
		}
		if h, err := HashPassword("pw", p); err == nil {
			t.Errorf("%+v: HashPassword = %q, want an error", p, h)
		}
		if _, err := NewHasher(p, 1, 1, time.Second); err == nil {
			t.Errorf("%+v: NewHasher accepted them", p)
		}
	}
}

// TestCheckPasswordAsksForRehash: a hash made with other parameters than
// the configured ones, or by bcrypt, still verifies and is reported stale.
func TestCheckPasswordAsksForRehash(t *testing.T) {
	t.Parallel()
	def := DefaultPasswordParams()
	for name, hash := range map[string]string{
		"less memory":     phc("pw", 8*1024, 2, 1, 32),
		"more passes":     phc("pw", 19*1024, 3, 1, 32),
		"two lanes":       phc("pw", 19*1024, 2, 2, 32),
		"shorter key":     phc("pw", 19*1024, 2, 1, 16),
		"bcrypt $2a$":     bcryptHash(t, "pw", "$2a$"),
		"bcrypt $2b$":     bcryptHash(t, "pw", "$2b$"),
		"bcrypt $2y$":     bcryptHash(t, "pw", "$2y$"),
		"today's, by phc": phc("pw", 19*1024, 2, 1, 32),
	} {
		stale, err := CheckPassword(hash, "pw", def)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := name != "today's, by phc"; stale != want {
			t.Errorf("%s: stale = %v, want %v", name, stale, want)
		}
		if _, err := CheckPassword(hash, "wrong", def); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s, wrong password: err = %v, want ErrMismatch", name, err)
		}
	}
	// Staleness follows the configured parameters: once they change,
	// today's default hash is stale and one made with the new ones is not.
	cheap := PasswordParams{MemoryKiB: 64, Time: 1}
	for name, c := range map[string]struct {
		hash  string
		stale bool
	}{
		"default hash, cheap configured": {phc("pw", 19*1024, 2, 1, 32), true},
		"cheap hash, cheap configured":   {phc("pw", 64, 1, 1, 32), false},
		"cheap memory, other time":       {phc("pw", 64, 2, 1, 32), true},
		"other memory, cheap time":       {phc("pw", 128, 1, 1, 32), true},
	} {
		stale, err := CheckPassword(c.hash, "pw", cheap)
		if err != nil || stale != c.stale {
			t.Errorf("%s: stale %v, err %v; want stale %v", name, stale, err, c.stale)
		}
	}
}

// TestHasherVerifyRehashes: Verify hands back a fresh hash with the
// Hasher's parameters for a stale one, and none for a current one.
func TestHasherVerifyRehashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, 1, 4, time.Minute)
	for _, old := range []string{phc("pw", 8*1024, 1, 1, 32), bcryptHash(t, "pw", "$2a$")} {
		fresh, err := h.Verify(ctx, old, "pw")
		if err != nil || fresh == "" {
			t.Fatalf("stale hash: fresh %q, err %v", fresh, err)
		}
		if !strings.HasPrefix(fresh, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("fresh hash %q has other parameters than today's", fresh)
		}
		if stale, err := CheckPassword(fresh, "pw", DefaultPasswordParams()); err != nil || stale {
			t.Errorf("fresh hash: stale %v, err %v", stale, err)
		}
		if again, err := h.Verify(ctx, fresh, "pw"); err != nil || again != "" {
			t.Errorf("current hash: fresh %q, err %v; want none", again, err)
		}
		if fresh, err := h.Verify(ctx, old, "wrong"); !errors.Is(err, ErrMismatch) || fresh != "" {
			t.Errorf("wrong password: fresh %q, err %v", fresh, err)
		}
	}
	// A Hasher configured with other parameters replaces a hash made with
	// the defaults by one made with its own.
	cheap, err := NewHasher(PasswordParams{MemoryKiB: 64, Time: 1}, 1, 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := cheap.Verify(ctx, phc("pw", 19*1024, 2, 1, 32), "pw")
	if err != nil || !strings.HasPrefix(fresh, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("default hash under cheap parameters: fresh %q, err %v", fresh, err)
	}
	if again, err := cheap.Verify(ctx, fresh, "pw"); err != nil || again != "" {
		t.Errorf("cheap hash under cheap parameters: fresh %q, err %v; want none", again, err)
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
		stale, err := CheckPassword(hash, "pw", DefaultPasswordParams())
		if err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("%s (%q): stale %v, err %v; want a parse error", name, hash, stale, err)
		}
	}
}
