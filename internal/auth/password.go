package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The fixed shape of the argon2id hashes Tim writes; their cost is
// PasswordParams.
const (
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// The bounds of the cost parameters, for the hashes Tim writes and for the
// stored hashes it checks: argon2 panics on zero time or lanes, and a stored
// hash must not make a login cost without bound.
const (
	minArgonMemory = 8 * argonThreads // KiB; argon2 needs 8 KiB per lane
	maxArgonMemory = 256 << 10        // KiB
	minArgonTime   = 1
	maxArgonTime   = 16
)

// PasswordParams are the cost of the argon2id hashes Tim writes. A stored
// hash made with other parameters still verifies, and is replaced by one
// made with these at the next login.
type PasswordParams struct {
	// MemoryKiB is the memory one hash takes, in KiB.
	MemoryKiB uint32
	// Time is the number of passes over that memory.
	Time uint32
}

// DefaultPasswordParams are RFC 9106's second recommended option with less
// memory (19 MiB, 2 passes, 1 lane), so that a 2-core server can take a
// burst of logins.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{MemoryKiB: 19 * 1024, Time: 2}
}

// Validate reports parameters that argon2 refuses or that are beyond the
// bounds Tim checks stored hashes within.
func (p PasswordParams) Validate() error {
	var errs []error
	if p.MemoryKiB < minArgonMemory || p.MemoryKiB > maxArgonMemory {
		errs = append(errs, fmt.Errorf("memory: want %d to %d KiB, got %d", minArgonMemory, maxArgonMemory, p.MemoryKiB))
	}
	if p.Time < minArgonTime || p.Time > maxArgonTime {
		errs = append(errs, fmt.Errorf("time: want %d to %d passes, got %d", minArgonTime, maxArgonTime, p.Time))
	}
	return errors.Join(errs...)
}

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("password mismatch")

// HashPassword returns an argon2id hash of password made with p, in the PHC
// string format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> with the
// default parameters.
func HashPassword(password string, p PasswordParams) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("argon2id parameters: %w", err)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, which is an argon2id
// PHC string or a bcrypt hash ($2a$, $2b$, $2y$) as the original system
// stored. needsRehash is true when the hash should be replaced by a fresh
// argon2id hash made with p: it is bcrypt, or argon2id made with other
// parameters.
func CheckPassword(hash, password string, p PasswordParams) (needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return checkArgon2id(hash, password, p)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
			if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
				return false, ErrMismatch
			}
			return false, fmt.Errorf("compare bcrypt hash: %w", err)
		}
		return true, nil
	default:
		return false, errors.New("unknown password hash format")
	}
}

func checkArgon2id(hash, password string, p PasswordParams) (bool, error) {
	parts := strings.Split(hash, "$") // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return false, errors.New("malformed argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("unsupported argon2id version")
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, fmt.Errorf("parse argon2id parameters: %w", err)
	}
	if time < minArgonTime || time > maxArgonTime || threads < 1 || memory < 8*uint32(threads) || memory > maxArgonMemory {
		return false, fmt.Errorf("argon2id parameters out of range: m=%d,t=%d,p=%d", memory, time, threads)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("decode argon2id salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("decode argon2id key: %w", err)
	}
	if len(want) < 16 || len(want) > 64 {
		return false, fmt.Errorf("argon2id key of %d bytes", len(want))
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, ErrMismatch
	}
	stale := memory != p.MemoryKiB || time != p.Time || threads != argonThreads || len(want) != argonKeyLen
	return stale, nil
}
