// Package userview presents users: it builds the user objects that
// responses show, never with a password or hash, with the avatar's URL and
// whether the user is online on any server instance.
package userview

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"tim/gen/models"
	"tim/internal/store"
)

// Profiles reads stored profiles; *store.Store is one.
type Profiles interface {
	UserProfiles(ctx context.Context, accounts []string, presenceTimeout time.Duration) ([]store.Profile, error)
}

// Loader loads user objects.
type Loader struct {
	profiles        Profiles
	presenceTimeout time.Duration
}

// NewLoader returns a Loader; an instance silent for presenceTimeout no
// longer makes its users online.
func NewLoader(profiles Profiles, presenceTimeout time.Duration) *Loader {
	return &Loader{profiles: profiles, presenceTimeout: presenceTimeout}
}

// Load returns the user objects of accounts that exist, ordered by account.
func (l *Loader) Load(ctx context.Context, accounts []string) ([]models.User, error) {
	if len(accounts) == 0 {
		return []models.User{}, nil
	}
	rows, err := l.profiles.UserProfiles(ctx, accounts, l.presenceTimeout)
	if err != nil {
		return nil, fmt.Errorf("load user profiles: %w", err)
	}
	users := make([]models.User, len(rows))
	for i, r := range rows {
		users[i] = toAPIUser(r)
	}
	return users, nil
}

// One returns the user object of account; ok is false when it does not exist.
func (l *Loader) One(ctx context.Context, account string) (u models.User, ok bool, err error) {
	users, err := l.Load(ctx, []string{account})
	if err != nil || len(users) == 0 {
		return models.User{}, false, err
	}
	return users[0], true, nil
}

// AvatarURL is the download path of account's avatar.
func AvatarURL(account string) string {
	return "/Tim/avatar?account=" + url.QueryEscape(account)
}

func toAPIUser(r store.Profile) models.User {
	u := models.User{
		Id:           r.ID,
		Account:      r.Account,
		Username:     r.Username,
		Sex:          models.Sex(r.Sex),
		Age:          r.Age,
		OnlineStatus: 0,
	}
	if r.Online {
		u.OnlineStatus = 1
	}
	if r.Avatar != "" {
		s := AvatarURL(r.Account)
		u.AvatarUrl = &s
	}
	return u
}
