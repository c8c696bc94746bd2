package auth

import (
	"errors"
	"fmt"
	"testing"

	"tim/internal/reply"
)

// The token's refusal: each error of Verify its own, the most telling of
// several (the validator joins one per security scheme), and none for a
// failure of the check itself.
func TestRefusal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want reply.Refusal
		ok   bool
	}{
		{ErrNoToken, reply.NoToken, true},
		{ErrInvalidToken, reply.BadToken, true},
		{fmt.Errorf("verify: %w", ErrExpiredToken), reply.ExpiredToken, true},
		{ErrRevokedToken, reply.RevokedToken, true},
		{errors.Join(ErrNoToken, ErrInvalidToken), reply.BadToken, true},
		{errors.Join(ErrNoToken, ErrRevokedToken, ErrExpiredToken), reply.RevokedToken, true},
		{errors.New("database down"), reply.Refusal{}, false},
		{nil, reply.Refusal{}, false},
	} {
		if got, ok := Refusal(tc.err); got != tc.want || ok != tc.ok {
			t.Errorf("Refusal(%v) = %v, %t; want %v, %t", tc.err, got, ok, tc.want, tc.ok)
		}
	}
}
