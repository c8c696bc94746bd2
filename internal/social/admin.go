package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// Group administration. Every operation runs in one transaction that
// locks the group row first (as joins and leaves do) and then reads the
// actor's and the target's roles, so that concurrent operations on one
// group take turns and each sees the roles the previous one left: two
// admins kicking each other end with exactly one kicked, and the group
// keeps exactly one owner (the unique index group_members_one_owner holds
// it too).
//
// Roles rank owner over admin over member; an actor may act on a target
// of lower rank only (an admin on members, the owner on anyone but
// itself). A legacy group whose owner (groups.owner) left before roles
// existed has no member with the owner role: the operations reserved to
// the owner are refused to everyone there, the admins' remain.

// Success messages of the operations.
const (
	msgRoleSet        = "设置群角色成功"
	msgKicked         = "移出群聊成功"
	msgMuteSet        = "禁言设置成功"
	msgGroupMuteSet   = "全员禁言设置成功"
	msgTransferred    = "转让群聊成功"
	msgDissolved      = "解散群聊成功"
	msgGroupUpdated   = "更新群聊成功"
	announcementLimit = 2000
)

// rank orders the roles: a higher rank may act on a lower one.
func rank(role string) int {
	switch role {
	case store.RoleOwner:
		return 3
	case store.RoleAdmin:
		return 2
	}
	return 1
}

// adminTx is one administration operation's transaction: the group locked,
// the actor's membership read under the lock, and what the operation
// changed, acted on after the commit.
type adminTx struct {
	ctx   context.Context
	q     *store.Queries
	group store.Group
	actor store.Member
	tl    timeline
	// lost are the accounts that lost the group: their sockets follow
	// after the commit, as a leaver's do.
	lost []string
	// removed is why they lost it (kicked or dissolved), which each of
	// them but the actor is told on its user sockets once its sockets no
	// longer carry the group.
	removed models.GroupRemovedFrameReason
}

// administer runs op for the token's account, which the request names as
// account, in group g's transaction. After the commit it publishes the
// events op stored and takes the group from the accounts that lost it,
// then tells each of them but the actor why (groupRemoved).
// Refusals: the account is another (403), the group does not exist (404)
// or the account is not a member (403, also of a dissolved group).
func (a *API) administer(ctx context.Context, account string, g int64, op func(t *adminTx) error) (store.Group, error) {
	caller, err := actingFor(ctx, account)
	if err != nil {
		return store.Group{}, err
	}
	var t *adminTx
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		group, err := q.GroupLockForUpdate(ctx, g)
		if errors.Is(err, store.ErrNotFound) {
			return reply.GroupNotFound
		}
		if err != nil {
			return fmt.Errorf("lock group: %w", err)
		}
		actor, err := q.GroupMemberGetForUpdate(ctx, g, caller)
		if errors.Is(err, store.ErrNotFound) {
			return reply.NotGroupMember
		}
		if err != nil {
			return fmt.Errorf("read actor: %w", err)
		}
		t = &adminTx{ctx: ctx, q: q, group: group, actor: actor}
		return op(t)
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("group %d: %w", g, err)
	}
	a.publish(ctx, &t.tl)
	for _, acc := range t.lost {
		a.membershipChanged(ctx, g, acc, false)
		if acc != caller {
			a.notify(ctx, acc, frame.EncodeGroupRemoved(g, t.removed, caller))
		}
	}
	return t.group, nil
}

// ownerOnly refuses an actor that is not the owner.
func (t *adminTx) ownerOnly() error {
	if t.actor.Role != store.RoleOwner {
		return reply.OwnerOnly
	}
	return nil
}

// ownerOrAdmin refuses a plain member.
func (t *adminTx) ownerOrAdmin() error {
	if rank(t.actor.Role) < rank(store.RoleAdmin) {
		return reply.OwnerOrAdmin
	}
	return nil
}

// target reads the member account an operation acts on, its row locked:
// SelfTarget for the actor, TargetNotMember for a non-member.
func (t *adminTx) target(account string) (store.Member, error) {
	if account == t.actor.Account {
		return store.Member{}, reply.SelfTarget
	}
	m, err := t.q.GroupMemberGetForUpdate(t.ctx, t.group.ID, account)
	if errors.Is(err, store.ErrNotFound) {
		return store.Member{}, reply.TargetNotMember
	}
	if err != nil {
		return store.Member{}, fmt.Errorf("read target: %w", err)
	}
	return m, nil
}

// outranked reads the target and refuses it unless the actor outranks it.
func (t *adminTx) outranked(account string) (store.Member, error) {
	m, err := t.target(account)
	if err == nil && rank(t.actor.Role) <= rank(m.Role) {
		err = reply.Outranked
	}
	return m, err
}

// event stores e, made by the actor, in the group's timeline.
func (t *adminTx) event(e frame.Event) error {
	return t.tl.add(t.ctx, t.q, t.group.ID, t.actor.Account, e)
}

// SetGroupRole makes a member an admin or an admin a member (owner only).
func (a *API) SetGroupRole(ctx context.Context, req server.SetGroupRoleRequestObject) (server.SetGroupRoleResponseObject, error) {
	p := req.Params
	role := string(p.Role)
	_, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOnly(); err != nil {
			return err
		}
		m, err := t.target(p.TargetAccount)
		if err != nil || m.Role == role {
			return err
		}
		if _, err := t.q.GroupMemberSetRole(ctx, t.group.ID, m.Account, role); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return t.event(frame.Event{Kind: models.GroupEventKindRole, Target: m.Account, Role: models.GroupRole(role)})
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("set group role: %w", err))
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgRoleSet}, nil
}

// KickMember removes a member of lower rank than the actor; the kicked
// account loses the group as a leaver does.
func (a *API) KickMember(ctx context.Context, req server.KickMemberRequestObject) (server.KickMemberResponseObject, error) {
	p := req.Params
	_, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOrAdmin(); err != nil {
			return err
		}
		m, err := t.outranked(p.TargetAccount)
		if err != nil {
			return err
		}
		if err := removeMember(ctx, t.q, t.group.ID, m.Account); err != nil {
			return err
		}
		t.lost = append(t.lost, m.Account)
		t.removed = models.GroupRemovedFrameReasonKicked
		return t.event(frame.Event{Kind: models.GroupEventKindKick, Target: m.Account})
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("kick member: %w", err))
	}
	a.logger.InfoContext(ctx, "member kicked", slog.Int64("group", p.GroupID), slog.String("account", p.TargetAccount), slog.String("by", p.UserAccount))
	return reply.Envelope{Code: http.StatusOK, Message: msgKicked}, nil
}

// MuteMember mutes a member of lower rank than the actor for a while, or
// lifts the mute (seconds 0).
func (a *API) MuteMember(ctx context.Context, req server.MuteMemberRequestObject) (server.MuteMemberResponseObject, error) {
	p := req.Params
	_, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOrAdmin(); err != nil {
			return err
		}
		m, err := t.outranked(p.TargetAccount)
		if err != nil || (p.Seconds == 0 && m.MutedUntil.IsZero()) {
			return err // lifting no mute changes nothing
		}
		// The validator holds seconds to 0 to a year.
		until, err := t.q.GroupMemberSetMute(ctx, t.group.ID, m.Account, time.Duration(p.Seconds)*time.Second)
		if err != nil {
			return fmt.Errorf("set mute: %w", err)
		}
		e := frame.Event{Kind: models.GroupEventKindMute, Target: m.Account}
		if !until.IsZero() {
			e.MutedUntil = &until
		}
		return t.event(e)
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("mute member: %w", err))
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgMuteSet}, nil
}

// MuteGroup mutes or unmutes the whole group: while it is muted only the
// owner and admins send.
func (a *API) MuteGroup(ctx context.Context, req server.MuteGroupRequestObject) (server.MuteGroupResponseObject, error) {
	p := req.Params
	_, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOrAdmin(); err != nil {
			return err
		}
		if t.group.Muted == p.Muted {
			return nil
		}
		muted := p.Muted
		if _, err := t.q.GroupUpdateSettings(ctx, t.group.ID, store.GroupSettings{Muted: &muted}); err != nil {
			return fmt.Errorf("set group mute: %w", err)
		}
		return t.event(frame.Event{Kind: models.GroupEventKindMuteGroup, Muted: &muted})
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("mute group: %w", err))
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupMuteSet}, nil
}

// TransferGroup makes another member the owner and the old owner an admin.
func (a *API) TransferGroup(ctx context.Context, req server.TransferGroupRequestObject) (server.TransferGroupResponseObject, error) {
	p := req.Params
	_, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOnly(); err != nil {
			return err
		}
		m, err := t.target(p.TargetAccount)
		if err != nil {
			return err
		}
		// The old owner steps down first: the group has one owner at any
		// moment (group_members_one_owner).
		if _, err := t.q.GroupMemberSetRole(ctx, t.group.ID, t.actor.Account, store.RoleAdmin); err != nil {
			return fmt.Errorf("demote owner: %w", err)
		}
		if _, err := t.q.GroupMemberSetRole(ctx, t.group.ID, m.Account, store.RoleOwner); err != nil {
			return fmt.Errorf("promote owner: %w", err)
		}
		if err := t.q.GroupSetOwner(ctx, t.group.ID, m.Account); err != nil {
			return fmt.Errorf("record owner: %w", err)
		}
		return t.event(frame.Event{Kind: models.GroupEventKindTransfer, Target: m.Account})
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("transfer group: %w", err))
	}
	a.logger.InfoContext(ctx, "group transferred", slog.Int64("group", p.GroupID), slog.String("owner", p.TargetAccount))
	return reply.Envelope{Code: http.StatusOK, Message: msgTransferred}, nil
}

// DissolveGroup ends the group: a dissolve event takes its last seq, then
// every member loses it. The row stays, so that its id is never reused.
func (a *API) DissolveGroup(ctx context.Context, req server.DissolveGroupRequestObject) (server.DissolveGroupResponseObject, error) {
	p := req.Params
	_, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOnly(); err != nil {
			return err
		}
		if err := t.event(frame.Event{Kind: models.GroupEventKindDissolve}); err != nil {
			return err
		}
		members, err := t.q.GroupDissolve(ctx, t.group.ID)
		if err != nil {
			return fmt.Errorf("dissolve: %w", err)
		}
		t.lost, t.removed = members, models.GroupRemovedFrameReasonDissolved
		return nil
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("dissolve group: %w", err))
	}
	a.logger.InfoContext(ctx, "group dissolved", slog.Int64("group", p.GroupID), slog.String("by", p.UserAccount))
	return reply.Envelope{Code: http.StatusOK, Message: msgDissolved}, nil
}

// UpdateGroup changes the group's name, announcement or policies (owner
// and admins); a new name and a new announcement are events.
func (a *API) UpdateGroup(ctx context.Context, req server.UpdateGroupRequestObject) (server.UpdateGroupResponseObject, error) {
	p, body := req.Params, req.Body
	if body == nil { // the validator requires the body
		return reply.NoBody.Envelope(), nil
	}
	if body.Announcement != nil && (strings.ContainsRune(*body.Announcement, 0) || len([]rune(*body.Announcement)) > announcementLimit) {
		return reply.BadField("announcement", "须为至多2000个字符，且不含NUL字符").Envelope(), nil
	}
	group, err := a.administer(ctx, p.UserAccount, p.GroupID, func(t *adminTx) error {
		if err := t.ownerOrAdmin(); err != nil {
			return err
		}
		old := t.group
		s := store.GroupSettings{Name: body.Name, Announcement: body.Announcement}
		if body.JoinPolicy != nil {
			v := string(*body.JoinPolicy)
			s.JoinPolicy = &v
		}
		if body.HistoryVisibility != nil {
			v := string(*body.HistoryVisibility)
			s.HistoryVisibility = &v
		}
		g, err := t.q.GroupUpdateSettings(ctx, old.ID, s)
		if err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		t.group = g
		if g.Name != old.Name {
			name := g.Name
			if err := t.event(frame.Event{Kind: models.GroupEventKindRename, Name: &name}); err != nil {
				return err
			}
		}
		if g.Announcement != old.Announcement {
			text := g.Announcement
			return t.event(frame.Event{Kind: models.GroupEventKindAnnouncement, Announcement: &text})
		}
		return nil
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("update group: %w", err))
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupUpdated, Data: a.toAPIGroup(group)}, nil
}

// removeMember deletes account's membership of group g and counts it out;
// the caller holds the group's lock and knows account is a member.
func removeMember(ctx context.Context, q *store.Queries, g int64, account string) error {
	if _, err := q.GroupMemberDelete(ctx, g, account); err != nil {
		return fmt.Errorf("delete member: %w", err)
	}
	if _, err := q.GroupMemberCountAdjust(ctx, g, -1); err != nil {
		return fmt.Errorf("decrement member count: %w", err)
	}
	return nil
}
