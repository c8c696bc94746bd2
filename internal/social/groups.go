package social

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"unicode/utf8"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// maxIDAttempts bounds createGroup's draws of a random id; with ids drawn
// from 2^53-1, one collision is already unlikely for billions of groups.
const maxIDAttempts = 16

// LeaveGroup removes the account from the group, with a leave event. The
// owner cannot leave while other members remain; the last member leaving
// dissolves the group (its row stays, so that its id is never reused).
func (a *API) LeaveGroup(ctx context.Context, req server.LeaveGroupRequestObject) (server.LeaveGroupResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	var tl timeline
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		// Lock the group before its member rows, in the order joins use.
		g, err := q.GroupLockForUpdate(ctx, p.GroupID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return reply.NotInGroup
			}
			return fmt.Errorf("lock group: %w", err)
		}
		m, err := q.GroupMemberGetForUpdate(ctx, g.ID, caller)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.NotInGroup
		case err != nil:
			return fmt.Errorf("read member: %w", err)
		case m.Role == store.RoleOwner && g.MemberCount > 1:
			return reply.OwnerMustTransfer
		}
		if err := removeMember(ctx, q, g.ID, caller); err != nil {
			return err
		}
		if err := tl.add(ctx, q, g.ID, caller, frame.Event{Kind: models.GroupEventKindLeave, Target: caller}); err != nil {
			return err
		}
		if g.MemberCount <= 1 { // the last member: the group ends
			if _, err := q.GroupDissolve(ctx, g.ID); err != nil {
				return fmt.Errorf("dissolve: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("leave group %d: %w", p.GroupID, err))
	}
	a.publish(ctx, &tl)
	a.membershipChanged(ctx, p.GroupID, caller, false)
	a.logger.InfoContext(ctx, "group left", slog.Int64("group", p.GroupID), slog.String("account", caller))
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupLeft}, nil
}

// CreateGroup creates a group under an id drawn at random, never used
// before, with the caller as owner and first member, and the join policy
// (the deployment's default without one) and history visibility asked
// for.
func (a *API) CreateGroup(ctx context.Context, req server.CreateGroupRequestObject) (server.CreateGroupResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	if !utf8.ValidString(p.GroupName) {
		return reply.BadGroupName.Envelope(), nil
	}
	ng := store.NewGroup{Name: p.GroupName, Owner: caller, HistoryVisibility: string(models.HistoryVisibilityShared)}
	if p.JoinPolicy != nil {
		ng.JoinPolicy = string(*p.JoinPolicy)
	}
	if p.HistoryVisibility != nil {
		ng.HistoryVisibility = string(*p.HistoryVisibility)
	}
	var group store.Group
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		g, err := insertRandomGroup(ctx, q, ng)
		if err != nil {
			return err
		}
		group, err = addMember(ctx, q, g.ID, caller, store.RoleOwner)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	a.membershipChanged(ctx, group.ID, caller, true)
	a.logger.InfoContext(ctx, "group created", slog.Int64("group", group.ID), slog.String("owner", caller))
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupCreated, Data: a.toAPIGroup(group)}, nil
}

// GetGroups lists the account's groups, ordered by id.
func (a *API) GetGroups(ctx context.Context, req server.GetGroupsRequestObject) (server.GetGroupsResponseObject, error) {
	caller, err := actingFor(ctx, req.Params.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	rows, err := a.q.GroupListByMember(ctx, caller)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	groups := make([]models.Group, len(rows))
	for i, g := range rows {
		groups[i] = a.toAPIGroup(g)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupList, Data: groups}, nil
}

// GetGroupMembers lists a group's members, ordered by account; only members
// may ask.
func (a *API) GetGroupMembers(ctx context.Context, req server.GetGroupMembersRequestObject) (server.GetGroupMembersResponseObject, error) {
	caller, err := callerAccount(ctx)
	if err != nil {
		return nil, err
	}
	id := req.Params.GroupID
	member, err := a.q.GroupMembership(ctx, id, caller)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reply.GroupNotFound.Envelope(), nil
	case err != nil:
		return nil, fmt.Errorf("check membership of group %d: %w", id, err)
	case !member:
		return reply.NotGroupMember.Envelope(), nil
	}
	members, err := a.q.GroupMemberList(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list members of group %d: %w", id, err)
	}
	accounts := make([]string, len(members))
	for i, m := range members {
		accounts[i] = m.Account
	}
	users, err := a.profiles.Load(ctx, accounts)
	if err != nil {
		return nil, err
	}
	byAccount := make(map[string]models.User, len(users))
	for _, u := range users {
		byAccount[u.Account] = u
	}
	list := make([]models.GroupMember, 0, len(members))
	for _, m := range members {
		if u, ok := byAccount[m.Account]; ok {
			list = append(list, toAPIMember(u, m))
		}
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupMembers, Data: list}, nil
}

// insertRandomGroup inserts g under an id drawn at random from 1 to
// MaxGroupID (crypto/rand), drawing again while the id is taken by any
// group, dissolved ones included, so that no id is used twice and none can
// be guessed from another.
func insertRandomGroup(ctx context.Context, q *store.Queries, g store.NewGroup) (store.Group, error) {
	for range maxIDAttempts {
		id, err := rand.Int(rand.Reader, big.NewInt(MaxGroupID))
		if err != nil {
			return store.Group{}, fmt.Errorf("draw group id: %w", err)
		}
		g.ID = id.Int64() + 1
		created, err := q.GroupInsertWithID(ctx, g)
		if err == nil {
			return created, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return store.Group{}, fmt.Errorf("insert group: %w", err)
		}
	}
	return store.Group{}, fmt.Errorf("insert group: no free id in %d draws", maxIDAttempts)
}

// addMember inserts the member and bumps the count; the caller holds the
// group row's lock (or has just inserted it).
func addMember(ctx context.Context, q *store.Queries, groupID int64, account, role string) (store.Group, error) {
	if err := q.GroupMemberInsert(ctx, groupID, account, role); err != nil {
		return store.Group{}, fmt.Errorf("insert member: %w", err)
	}
	g, err := q.GroupMemberCountAdjust(ctx, groupID, 1)
	if err != nil {
		return store.Group{}, fmt.Errorf("increment member count: %w", err)
	}
	return g, nil
}
