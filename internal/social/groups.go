package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/reply"
	"tim/internal/store"
)

// maxIDAttempts bounds createGroup's search for a sequence id that no join
// has taken; each attempt consumes one id.
const maxIDAttempts = 1000

// JoinGroup adds the account to the group, creating the group with the
// account as owner when the id is new. The group row is locked for the whole
// transaction, so concurrent joins cannot pass the member limit.
func (a *API) JoinGroup(ctx context.Context, req server.JoinGroupRequestObject) (server.JoinGroupResponseObject, error) {
	p := req.Params // the validator holds GroupID to 1 to MaxGroupID
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	var group store.Group
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		if err := q.GroupInsertIfMissing(ctx, p.GroupID, defaultNamePrefix+strconv.FormatInt(p.GroupID, 10), caller); err != nil {
			return fmt.Errorf("create group on join: %w", err)
		}
		g, err := q.GroupLockForUpdate(ctx, p.GroupID)
		if err != nil {
			return fmt.Errorf("lock group: %w", err)
		}
		member, err := q.GroupMemberExists(ctx, g.ID, caller)
		if err != nil {
			return fmt.Errorf("check membership: %w", err)
		}
		if member {
			return reply.AlreadyMember // a refusal rolls the transaction back
		}
		if int(g.MemberCount) >= a.cfg.GroupMemberLimit {
			return reply.GroupFull
		}
		// The account that created the group by this join, or its owner
		// coming back, is its owner.
		role := store.RoleMember
		if g.Owner == caller {
			role = store.RoleOwner
		}
		group, err = addMember(ctx, q, g.ID, caller, role)
		if err != nil {
			return err
		}
		// History from before the join is not pushed to the new member.
		if err := q.DeliveryCursorSetToGroupEnd(ctx, caller, g.ID); err != nil {
			return fmt.Errorf("set delivery cursor: %w", err)
		}
		// Nor is it unread: the read cursor starts there too.
		if err := q.ReadCursorSetToGroupEnd(ctx, caller, g.ID); err != nil {
			return fmt.Errorf("set read cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("join group %d: %w", p.GroupID, err))
	}
	a.membershipChanged(ctx, group.ID, caller, true)
	a.logger.InfoContext(ctx, "group joined", slog.Int64("group", group.ID), slog.String("account", caller))
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupJoined, Data: a.toAPIGroup(group)}, nil
}

// LeaveGroup removes the account from the group. The group and its history
// stay, with member_count 0, when the last member leaves.
func (a *API) LeaveGroup(ctx context.Context, req server.LeaveGroupRequestObject) (server.LeaveGroupResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		// Lock the group before its member rows, in the order joins use.
		if _, err := q.GroupLockForUpdate(ctx, p.GroupID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return reply.NotInGroup
			}
			return fmt.Errorf("lock group: %w", err)
		}
		deleted, err := q.GroupMemberDelete(ctx, p.GroupID, caller)
		if err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		if !deleted {
			return reply.NotInGroup
		}
		if _, err := q.GroupMemberCountAdjust(ctx, p.GroupID, -1); err != nil {
			return fmt.Errorf("decrement member count: %w", err)
		}
		return nil
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("leave group %d: %w", p.GroupID, err))
	}
	a.membershipChanged(ctx, p.GroupID, caller, false)
	a.logger.InfoContext(ctx, "group left", slog.Int64("group", p.GroupID), slog.String("account", caller))
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupLeft}, nil
}

// CreateGroup creates a group with the next free sequence id, the caller as
// owner and first member.
func (a *API) CreateGroup(ctx context.Context, req server.CreateGroupRequestObject) (server.CreateGroupResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	if !utf8.ValidString(p.GroupName) {
		return reply.BadGroupName.Envelope(), nil
	}
	var group store.Group
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		g, err := insertNextGroup(ctx, q, p.GroupName, caller)
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

// insertNextGroup inserts a group under the next sequence id that no join
// has taken.
func insertNextGroup(ctx context.Context, q *store.Queries, name, owner string) (store.Group, error) {
	for range maxIDAttempts {
		g, err := q.GroupInsertNext(ctx, name, owner)
		if err == nil {
			return g, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Group{}, fmt.Errorf("insert group: %w", err)
		}
	}
	return store.Group{}, fmt.Errorf("insert group: no free id in %d attempts", maxIDAttempts)
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
