package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// Admission: who may join a group, by its join policy, whether a join of
// an unknown id creates the group, and what refused joins cost.

// Join policies, as groups.join_policy stores them; any other is approval.
const (
	policyOpen   = "open"
	policyInvite = "invite"
)

// joinOutcome is what a join did: added the account to group, or left
// request pending (created: by this join).
type joinOutcome struct {
	group   store.Group
	request *store.JoinRequest
	created bool
	events  timeline // the join's event, published once it committed
}

// JoinGroup admits the account to the group as its join policy allows: an
// open group adds it, an approval group makes (or returns) its pending
// join request, an invite group refuses. An unknown id is created with the
// account as owner, unless the deployment turned that off. Refusals of 403
// and 404 count against the account; when they fill its window every join
// is refused with 429 until the oldest leaves it.
func (a *API) JoinGroup(ctx context.Context, req server.JoinGroupRequestObject) (server.JoinGroupResponseObject, error) {
	p := req.Params // the validator holds GroupID to 1 to MaxGroupID, message to 200 characters
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	failure, wait, err := a.reserveJoinFailure(ctx, caller)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return reply.Refuse(reply.TooManyJoins.Retry(retryAfter(wait)))
	}
	var message string
	if p.Message != nil {
		message = *p.Message
	}
	out, err := a.join(ctx, caller, p.GroupID, message)
	if r, ok := reply.As(err); !ok || (r.Code != http.StatusForbidden && r.Code != http.StatusNotFound) {
		a.releaseJoinFailure(ctx, failure)
	}
	if err != nil {
		return reply.Refuse(fmt.Errorf("join group %d: %w", p.GroupID, err))
	}
	if out.request != nil {
		if out.created {
			a.notifyJoinRequest(ctx, *out.request)
		}
		return reply.Envelope{Code: http.StatusAccepted, Message: msgJoinRequested, Data: toAPIJoinRequest(*out.request)}, nil
	}
	a.membershipChanged(ctx, out.group.ID, caller, true)
	a.publish(ctx, &out.events)
	a.logger.InfoContext(ctx, "group joined", slog.Int64("group", out.group.ID), slog.String("account", caller))
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupJoined, Data: a.toAPIGroup(out.group)}, nil
}

// join runs account's join of group id in one transaction that holds the
// group row's lock.
func (a *API) join(ctx context.Context, account string, id int64, message string) (joinOutcome, error) {
	var out joinOutcome
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		out = joinOutcome{}
		if a.cfg.JoinCreatesGroup {
			if err := q.GroupInsertIfMissing(ctx, id, defaultNamePrefix+strconv.FormatInt(id, 10), account); err != nil {
				return fmt.Errorf("create group on join: %w", err)
			}
		}
		g, err := q.GroupLockForUpdate(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.GroupNotFound
		case err != nil:
			return fmt.Errorf("lock group: %w", err)
		case g.Dissolved: // its id is never used again
			return reply.GroupDissolved
		}
		// The account that created the group by this join, or its owner
		// coming back, is its owner and joins whatever the policy.
		if g.Owner == account {
			out.group, err = a.admit(ctx, q, g, account, store.RoleOwner, account, &out.events)
			return err
		}
		policy := a.policy(g)
		if policy == policyOpen {
			out.group, err = a.admit(ctx, q, g, account, store.RoleMember, account, &out.events)
			return err
		}
		member, err := q.GroupMemberExists(ctx, g.ID, account)
		switch {
		case err != nil:
			return fmt.Errorf("check membership: %w", err)
		case member:
			return reply.AlreadyMember // a refusal rolls the transaction back
		case policy == policyInvite:
			return reply.InviteOnly
		}
		r, created, err := q.JoinRequestPending(ctx, g.ID, account, message)
		if err != nil {
			return fmt.Errorf("request to join: %w", err)
		}
		out.request, out.created = &r, created
		return nil
	})
	return out, err
}

// policy is g's join policy, the deployment's when g has none of its own.
func (a *API) policy(g store.Group) string {
	if g.JoinPolicy != "" {
		return g.JoinPolicy
	}
	return a.cfg.DefaultJoinPolicy
}

// admit is the one way a member is added to an existing group: by an open
// join, an accepted join request or an invitation. The caller holds g's
// row lock (GroupLockForUpdate) in q's transaction, and tells
// membershipChanged, then publishes tl, once it committed. The join is an
// event of the group's timeline, made by actor (the account itself, or
// whoever accepted or invited it), which tl collects.
func (a *API) admit(ctx context.Context, q *store.Queries, g store.Group, account, role, actor string, tl *timeline) (store.Group, error) {
	member, err := q.GroupMemberExists(ctx, g.ID, account)
	if err != nil {
		return store.Group{}, fmt.Errorf("check membership: %w", err)
	}
	if member {
		return store.Group{}, reply.AlreadyMember
	}
	if int(g.MemberCount) >= a.cfg.GroupMemberLimit {
		return store.Group{}, reply.GroupFull
	}
	added, err := addMember(ctx, q, g.ID, account, role)
	if err != nil {
		return store.Group{}, err
	}
	// History from before the join is not pushed to the new member.
	if err := q.DeliveryCursorSetToGroupEnd(ctx, account, g.ID); err != nil {
		return store.Group{}, fmt.Errorf("set delivery cursor: %w", err)
	}
	// Nor is it unread: the read cursor starts there too.
	if err := q.ReadCursorSetToGroupEnd(ctx, account, g.ID); err != nil {
		return store.Group{}, fmt.Errorf("set read cursor: %w", err)
	}
	// After the cursors: the new member gets its own join event.
	if err := tl.add(ctx, q, g.ID, actor, frame.Event{Kind: models.GroupEventKindJoin, Target: account}); err != nil {
		return store.Group{}, err
	}
	return added, nil
}

// joinFailure is a refused join recorded before the join ran; 0 when
// refused joins are not limited.
type joinFailure int64

// reserveJoinFailure records a join of account as refused, in one
// transaction that holds the account's lock while it counts and records,
// so that concurrent joins cannot all slip under the limit, as logins do.
// When the window is full it records nothing and returns how long the
// client must wait. A join that was not refused with 403 or 404 takes the
// record back (releaseJoinFailure).
func (a *API) reserveJoinFailure(ctx context.Context, account string) (joinFailure, time.Duration, error) {
	limit, window := a.cfg.JoinFailuresPerAccount, a.cfg.JoinFailureWindow
	if limit <= 0 {
		return 0, 0, nil
	}
	var id int64
	var wait time.Duration
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		if err := q.RateLimitLock(ctx, "join:"+account); err != nil {
			return fmt.Errorf("lock join limit: %w", err)
		}
		var retry time.Duration
		var err error
		id, retry, err = q.LoginFailureReserve(ctx, "join", account, int64(limit), window)
		if err != nil {
			return fmt.Errorf("reserve join attempt: %w", err)
		}
		if id == 0 {
			// At least a second, never longer than the window (the
			// statement measures from its transaction's start).
			wait = max(time.Second, min(retry, window))
		}
		return nil
	})
	return joinFailure(id), wait, err
}

// releaseJoinFailure takes back the record of a join that was not refused
// with 403 or 404. It runs even when the request's context has ended, and
// only logs when it fails: the join then counts as refused.
func (a *API) releaseJoinFailure(ctx context.Context, f joinFailure) {
	if f == 0 {
		return
	}
	if err := a.q.LoginFailureDelete(context.WithoutCancel(ctx), []int64{int64(f)}); err != nil {
		a.logger.WarnContext(ctx, "take back a reserved join failure", slog.Any("err", err))
	}
}

// retryAfter is a Retry-After header's value: whole seconds, rounded up.
func retryAfter(d time.Duration) int32 {
	return int32(min(math.Ceil(d.Seconds()), math.MaxInt32))
}
