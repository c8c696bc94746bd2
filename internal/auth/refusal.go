package auth

import (
	"errors"

	"tim/internal/reply"
)

// Refusal is the refusal of a request whose token was not accepted: err
// is, or joins, ErrNoToken, ErrInvalidToken, ErrExpiredToken or
// ErrRevokedToken, and the most telling one wins. It reports false for any
// other error, a failure of the check itself.
func Refusal(err error) (reply.Refusal, bool) {
	switch {
	case errors.Is(err, ErrRevokedToken):
		return reply.RevokedToken, true
	case errors.Is(err, ErrExpiredToken):
		return reply.ExpiredToken, true
	case errors.Is(err, ErrInvalidToken):
		return reply.BadToken, true
	case errors.Is(err, ErrNoToken):
		return reply.NoToken, true
	}
	return reply.Refusal{}, false
}
