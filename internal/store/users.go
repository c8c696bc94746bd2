package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tim/gen/db"
)

// User is an account as stored, password hash included: it never leaves
// the server (package userview builds what clients see).
type User struct {
	ID              int64
	Account         string
	Username        string
	PasswordHash    string
	Sex             string
	Age             int32
	TokenGeneration int32 // bumped by a logout of every token
	CreatedAt       time.Time
}

// NewUser is what registration stores.
type NewUser struct {
	Account      string
	Username     string
	PasswordHash string
	Sex          string
	Age          int32
}

// Profile is a user as others see it.
type Profile struct {
	ID       int64
	Account  string
	Username string
	Sex      string
	Age      int32
	Avatar   string // media name of the current avatar; "" when none
	Online   bool   // a live instance holds a socket of the account
}

// AccountName is an account with its display name.
type AccountName struct {
	Account  string
	Username string
}

// TokenState is what verifying a token needs from the database.
type TokenState struct {
	Generation int32 // the account's current token generation
	Revoked    bool  // the token was revoked one by one
}

// HeldToken is a token an open socket holds.
type HeldToken struct {
	Account    string
	JTI        string
	Generation int32
}

func userFromRow(r db.User) User {
	return User{
		ID: r.ID, Account: r.Account, Username: r.Username, PasswordHash: r.PasswordHash,
		Sex: r.Sex, Age: r.Age, TokenGeneration: r.TokenGeneration, CreatedAt: r.CreatedAt.Time,
	}
}

// timestamptz is t as a non-NULL timestamptz parameter.
func timestamptz(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

// UserInsert stores a new account; ErrConflict when the account is taken.
func (q *Queries) UserInsert(ctx context.Context, u NewUser) (User, error) {
	r, err := q.q.UserInsert(ctx, db.UserInsertParams{
		Account: u.Account, Username: u.Username, PasswordHash: u.PasswordHash, Sex: u.Sex, Age: u.Age,
	})
	if err != nil {
		return User{}, interpretError(err)
	}
	return userFromRow(r), nil
}

// UserGetByAccount returns the account; ErrNotFound when it does not exist.
func (q *Queries) UserGetByAccount(ctx context.Context, account string) (User, error) {
	r, err := q.q.UserGetByAccount(ctx, account)
	if err != nil {
		return User{}, interpretError(err)
	}
	return userFromRow(r), nil
}

// UserSetPasswordHash replaces the account's password hash.
func (q *Queries) UserSetPasswordHash(ctx context.Context, account, hash string) error {
	return interpretError(q.q.UserSetPasswordHash(ctx, db.UserSetPasswordHashParams{Account: account, PasswordHash: hash}))
}

// UserRevokeAllTokens revokes every token issued to the account so far.
func (q *Queries) UserRevokeAllTokens(ctx context.Context, account string) error {
	return interpretError(q.q.UserRevokeAllTokens(ctx, account))
}

// UserProfiles returns the profiles of those of accounts that exist,
// ordered by account; an instance silent for presenceTimeout no longer
// makes its users online.
func (q *Queries) UserProfiles(ctx context.Context, accounts []string, presenceTimeout time.Duration) ([]Profile, error) {
	rows, err := q.q.UserProfiles(ctx, db.UserProfilesParams{Accounts: accounts, PresenceTimeoutSecs: presenceTimeout.Seconds()})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]Profile, len(rows))
	for i, r := range rows {
		out[i] = Profile{ID: r.ID, Account: r.Account, Username: r.Username, Sex: r.Sex, Age: r.Age, Online: r.Online}
		if r.Avatar != nil {
			out[i].Avatar = *r.Avatar
		}
	}
	return out, nil
}

// UserUsernames returns the display names of those of accounts that exist.
func (q *Queries) UserUsernames(ctx context.Context, accounts []string) ([]AccountName, error) {
	rows, err := q.q.UserUsernames(ctx, accounts)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]AccountName, len(rows))
	for i, r := range rows {
		out[i] = AccountName{Account: r.Account, Username: r.Username}
	}
	return out, nil
}

// TokenState returns the token generation of account and whether token
// jti was revoked; ErrNotFound when the account does not exist.
func (q *Queries) TokenState(ctx context.Context, account, jti string) (TokenState, error) {
	r, err := q.q.TokenState(ctx, db.TokenStateParams{Account: account, Jti: jti})
	if err != nil {
		return TokenState{}, interpretError(err)
	}
	return TokenState{Generation: r.TokenGeneration, Revoked: r.Revoked}, nil
}

// RevokedTokenInsert revokes token jti of account until it expires.
func (q *Queries) RevokedTokenInsert(ctx context.Context, jti, account string, expiresAt time.Time) error {
	return interpretError(q.q.RevokedTokenInsert(ctx, db.RevokedTokenInsertParams{Jti: jti, Account: account, ExpiresAt: timestamptz(expiresAt)}))
}

// RevokedTokenDeleteExpired forgets revoked tokens past their expiry and
// returns how many.
func (q *Queries) RevokedTokenDeleteExpired(ctx context.Context) (int64, error) {
	n, err := q.q.RevokedTokenDeleteExpired(ctx)
	return n, interpretError(err)
}

// TokensRevokedAmong returns the jtis of those of tokens that no longer
// verify: revoked one by one, of an earlier generation, or of an account
// that is gone.
func (q *Queries) TokensRevokedAmong(ctx context.Context, tokens []HeldToken) ([]string, error) {
	arg := db.TokensRevokedAmongParams{
		Accounts: make([]string, len(tokens)), Jtis: make([]string, len(tokens)), Generations: make([]int32, len(tokens)),
	}
	for i, t := range tokens {
		arg.Accounts[i], arg.Jtis[i], arg.Generations[i] = t.Account, t.JTI, t.Generation
	}
	jtis, err := q.q.TokensRevokedAmong(ctx, arg)
	return jtis, interpretError(err)
}
