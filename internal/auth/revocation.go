package auth

import (
	"context"
	"errors"
	"fmt"

	"tim/internal/store"
)

// TokenStates reads what verifying a token needs from the database;
// *store.Store is one.
type TokenStates interface {
	TokenState(ctx context.Context, account, jti string) (store.TokenState, error)
}

// Revocations checks tokens against the database, so that a logout holds on
// every instance and across restarts.
type Revocations struct {
	states TokenStates
}

// NewRevocations returns a RevocationChecker over states.
func NewRevocations(states TokenStates) *Revocations {
	return &Revocations{states: states}
}

// Revoked reports whether c was revoked one by one, belongs to an earlier
// token generation of its account, or names an account that is gone.
func (r *Revocations) Revoked(ctx context.Context, c Claims) (bool, error) {
	st, err := r.states.TokenState(ctx, c.Account, c.JTI)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read token state: %w", err)
	}
	return st.Revoked || st.Generation != c.Generation, nil
}
