// Package accounts implements registration, login and logout.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/auth"
	"tim/internal/clientaddr"
	"tim/internal/config"
	"tim/internal/reply"
	"tim/internal/store"
	"tim/internal/userview"
)

// Success messages of the account endpoints, the document's words.
// Refusals are the reply package's.
const (
	msgRegistered = "注册成功"
	msgLoggedIn   = "登录成功"
	msgLoggedOut  = "退出成功"
)

// Sessions ends the WebSocket connections opened with a token (jti), or
// with every token of the account when jti is empty, on every instance;
// the realtime service is one.
type Sessions interface {
	Disconnect(ctx context.Context, account, jti string) error
}

// API implements the account operations of the contract.
type API struct {
	q        *store.Store
	issuer   *auth.Issuer
	profiles *userview.Loader
	sessions Sessions
	limits   config.Accounts // what registrations and logins may cost
	hasher   *auth.Hasher
	logger   *slog.Logger
	// dummyHash is checked when an account does not exist, so that a wrong
	// account takes as long as a wrong password.
	dummyHash string
}

// New returns the account API.
func New(st *store.Store, issuer *auth.Issuer, profiles *userview.Loader, sessions Sessions, limits config.Accounts, logger *slog.Logger) (*API, error) {
	password := auth.PasswordParams{MemoryKiB: uint32(limits.PasswordMemoryKiB), Time: uint32(limits.PasswordTime)} // config.Load bounds both
	hasher, err := auth.NewHasher(password, limits.HashConcurrency, limits.HashQueue, limits.HashWait)
	if err != nil {
		return nil, err
	}
	dummy, err := auth.HashPassword("timing-equaliser", password)
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	return &API{
		q: st, issuer: issuer, profiles: profiles,
		sessions: sessions, limits: limits, logger: logger, dummyHash: dummy, hasher: hasher,
	}, nil
}

// UserRegister creates an account.
func (a *API) UserRegister(ctx context.Context, req server.UserRegisterRequestObject) (server.UserRegisterResponseObject, error) {
	b := req.Body
	if wait, err := a.reserveRegistration(ctx, clientaddr.From(ctx)); err != nil {
		return nil, err
	} else if wait > 0 {
		return reply.Refuse(reply.TooManyRegistrations.Retry(retryAfter(wait)))
	}
	hash, err := a.hasher.Hash(ctx, b.Password)
	if errors.Is(err, auth.ErrBusy) {
		return reply.Refuse(a.busy())
	} else if err != nil {
		return nil, err
	}
	_, err = a.q.UserInsert(ctx, store.NewUser{
		Account: b.Account, Username: b.Username, PasswordHash: hash, Sex: string(b.Sex), Age: b.Age,
	})
	if errors.Is(err, store.ErrConflict) {
		return reply.AccountTaken.Envelope(), nil
	} else if err != nil {
		return nil, fmt.Errorf("insert user: %w", err)
	}
	u, ok, err := a.profiles.One(ctx, b.Account)
	if err != nil || !ok {
		return nil, fmt.Errorf("load new user %q: %w", b.Account, err)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgRegistered, Data: u}, nil
}

// UserLogin checks the password and issues a token. The attempt is
// recorded as a failure before the password is checked and taken back when
// it is right, so that however many attempts run at once, no more than the
// limit's number of guesses are checked in a window.
func (a *API) UserLogin(ctx context.Context, req server.UserLoginRequestObject) (server.UserLoginResponseObject, error) {
	account := req.Body.Account
	reservation, wait, err := a.reserveLogin(ctx, account, clientaddr.From(ctx))
	if err != nil {
		return nil, err
	} else if wait > 0 {
		return reply.Refuse(reply.TooManyLogins.Retry(retryAfter(wait)))
	}
	failed := false
	defer func() {
		if !failed {
			a.release(ctx, reservation)
		}
	}()

	row, err := a.q.UserGetByAccount(ctx, account)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("get user: %w", err)
	}
	found := err == nil
	hash := a.dummyHash
	if found {
		hash = row.PasswordHash
	}
	fresh, err := a.hasher.Verify(ctx, hash, req.Body.Password)
	switch {
	case errors.Is(err, auth.ErrBusy):
		return reply.Refuse(a.busy())
	case !found || errors.Is(err, auth.ErrMismatch):
		failed = true
		return reply.BadLogin.Envelope(), nil
	case err != nil:
		return nil, fmt.Errorf("check password of %q: %w", account, err)
	}
	if fresh != "" {
		if err := a.q.UserSetPasswordHash(ctx, account, fresh); err != nil {
			return nil, fmt.Errorf("upgrade password hash of %q: %w", account, err)
		}
		a.logger.InfoContext(ctx, "upgraded password hash to argon2id", slog.String("account", account))
	}

	token, _, err := a.issuer.Issue(account, row.TokenGeneration)
	if err != nil {
		return nil, err
	}
	u, ok, err := a.profiles.One(ctx, account)
	if err != nil || !ok {
		return nil, fmt.Errorf("load user %q: %w", account, err)
	}
	var userItem, tokenItem models.LoginItem
	if err := userItem.FromUser(u); err != nil {
		return nil, fmt.Errorf("encode login user: %w", err)
	}
	if err := tokenItem.FromTokenHolder(models.TokenHolder{Token: token}); err != nil {
		return nil, fmt.Errorf("encode login token: %w", err)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgLoggedIn, Data: []models.LoginItem{userItem, tokenItem}}, nil
}

// UserLogout revokes the presented token, or every token of the account.
func (a *API) UserLogout(ctx context.Context, req server.UserLogoutRequestObject) (server.UserLogoutResponseObject, error) {
	return a.logout(ctx, req.Params.All != nil && *req.Params.All)
}

// UserLogoutPost is UserLogout for clients that POST.
func (a *API) UserLogoutPost(ctx context.Context, req server.UserLogoutPostRequestObject) (server.UserLogoutPostResponseObject, error) {
	return a.logout(ctx, req.Params.All != nil && *req.Params.All)
}

// logout revokes the token of the request, which the validator has checked
// before any handler runs: a request without one is a wiring bug.
func (a *API) logout(ctx context.Context, all bool) (reply.Envelope, error) {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return reply.Envelope{}, errors.New("accounts: no verified token in context")
	}
	if all {
		if err := a.q.UserRevokeAllTokens(ctx, c.Account); err != nil {
			return reply.Envelope{}, fmt.Errorf("revoke all tokens: %w", err)
		}
	} else {
		if err := a.q.RevokedTokenInsert(ctx, c.JTI, c.Account, c.ExpiresAt); err != nil {
			return reply.Envelope{}, fmt.Errorf("revoke token: %w", err)
		}
	}
	jti := c.JTI
	if all {
		jti = ""
	}
	if a.sessions != nil {
		if err := a.sessions.Disconnect(ctx, c.Account, jti); err != nil {
			// The token is revoked; sockets also fail their next check. Log only.
			a.logger.WarnContext(ctx, "close sessions after logout", slog.String("account", c.Account), slog.Any("err", err))
		}
	}
	return reply.New(http.StatusOK, msgLoggedOut), nil
}

// busy refuses a request that found the password hasher full.
func (a *API) busy() error {
	return reply.Busy.Retry(retryAfter(a.hasher.RetryAfter()))
}
