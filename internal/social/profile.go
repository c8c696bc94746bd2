package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/reply"
	"tim/internal/store"
)

// UpdateProfile changes the fields of the caller's profile that the body
// holds, its friend policy among them, and answers the profile after.
func (a *API) UpdateProfile(ctx context.Context, req server.UpdateProfileRequestObject) (server.UpdateProfileResponseObject, error) {
	caller, err := actingFor(ctx, req.Params.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	if req.Body == nil { // the validator requires it
		return reply.NoBody.Envelope(), nil
	}
	b := req.Body
	change := store.ProfileChange{Username: b.Username, Age: b.Age}
	if b.Sex != nil {
		s := string(*b.Sex)
		change.Sex = &s
	}
	if b.FriendPolicy != nil {
		s := string(*b.FriendPolicy)
		change.FriendPolicy = &s
	}
	policy, err := a.q.UserProfileUpdate(ctx, caller, change)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reply.UserNotFound.Envelope(), nil
	case err != nil:
		return nil, fmt.Errorf("update profile: %w", err)
	}
	a.logger.InfoContext(ctx, "profile updated", slog.String("account", caller), slog.String("friend_policy", policy))
	return a.ownProfile(ctx, caller, policy, msgProfileUpdated)
}

// GetProfile answers the caller's own profile with its friend policy.
func (a *API) GetProfile(ctx context.Context, req server.GetProfileRequestObject) (server.GetProfileResponseObject, error) {
	caller, err := actingFor(ctx, req.Params.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	policy, err := a.q.UserFriendPolicy(ctx, caller)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reply.UserNotFound.Envelope(), nil
	case err != nil:
		return nil, fmt.Errorf("read friend policy: %w", err)
	}
	return a.ownProfile(ctx, caller, policy, msgProfileShown)
}

// ownProfile answers account's own profile, whose friend policy is
// policy, with message.
func (a *API) ownProfile(ctx context.Context, account, policy, message string) (reply.Envelope, error) {
	u, ok, err := a.profiles.One(ctx, account)
	switch {
	case err != nil:
		return reply.Envelope{}, err
	case !ok:
		return reply.UserNotFound.Envelope(), nil
	}
	return reply.Envelope{Code: http.StatusOK, Message: message, Data: models.OwnProfile{
		Id: u.Id, Username: u.Username, Account: u.Account, Sex: u.Sex, Age: u.Age,
		OnlineStatus: models.OwnProfileOnlineStatus(u.OnlineStatus), AvatarUrl: u.AvatarUrl, FriendPolicy: models.FriendPolicy(policy),
	}}, nil
}

// GetUser shows TargetAccount's public profile to the caller, with their
// relation; whether it is online only to a friend no block stands between.
// A block of the caller by the target is not shown: the relation reads as
// it would without it.
func (a *API) GetUser(ctx context.Context, req server.GetUserRequestObject) (server.GetUserResponseObject, error) {
	caller, err := actingFor(ctx, req.Params.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	target := req.Params.TargetAccount
	u, ok, err := a.profiles.One(ctx, target)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return reply.UserNotFound.Envelope(), nil
	}
	rel, blocked, err := a.relation(ctx, caller, target)
	if err != nil {
		return nil, err
	}
	p := models.PublicProfile{Account: u.Account, Username: u.Username, Sex: u.Sex, AvatarUrl: u.AvatarUrl, Relation: rel}
	if rel == models.RelationFriend && !blocked {
		online := u.OnlineStatus == 1
		p.Online = &online
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgUserShown, Data: p}, nil
}

// relation is how viewer stands to other, and whether a block stands
// between them either way.
func (a *API) relation(ctx context.Context, viewer, other string) (models.Relation, bool, error) {
	b, err := a.q.BlockBetween(ctx, viewer, other)
	if err != nil {
		return "", false, fmt.Errorf("check blocks: %w", err)
	}
	if b.ABlocksB {
		return models.RelationBlocked, true, nil
	}
	friends, err := a.q.FriendshipExists(ctx, viewer, other)
	if err != nil {
		return "", false, fmt.Errorf("check friendship: %w", err)
	}
	if friends {
		return models.RelationFriend, b.Any(), nil
	}
	for _, c := range []struct {
		from, to string
		rel      models.Relation
	}{{viewer, other, models.RelationRequested}, {other, viewer, models.RelationRequestedMe}} {
		_, err := a.q.FriendRequestPending(ctx, c.from, c.to)
		switch {
		case err == nil:
			return c.rel, b.Any(), nil
		case !errors.Is(err, store.ErrNotFound):
			return "", false, fmt.Errorf("read request: %w", err)
		}
	}
	return models.RelationNone, b.Any(), nil
}
