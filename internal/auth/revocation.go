package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tim/gen/db"
)

// Revocations checks tokens against the database, so that a logout holds on
// every instance and across restarts.
type Revocations struct {
	q *db.Queries
}

// NewRevocations returns a RevocationChecker over q.
func NewRevocations(q *db.Queries) *Revocations {
	return &Revocations{q: q}
}

// Revoked reports whether c was revoked one by one, belongs to an earlier
// token generation of its account, or names an account that is gone.
func (r *Revocations) Revoked(ctx context.Context, c Claims) (bool, error) {
	st, err := r.q.TokenState(ctx, db.TokenStateParams{Jti: c.JTI, Account: c.Account})
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read token state: %w", err)
	}
	return st.Revoked || st.TokenGeneration != c.Generation, nil
}
