package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// Join requests of approval groups, which the owner and admins list and
// answer, and invitations, by which they add members to any group.

// joinRequestsDefaultLimit is the page size of joinRequests without limit.
const joinRequestsDefaultLimit = 100

// GetJoinRequests lists a page of the group's pending join requests, newest
// first, to its owner and admins.
func (a *API) GetJoinRequests(ctx context.Context, req server.GetJoinRequestsRequestObject) (server.GetJoinRequestsResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	if err := a.mayManage(ctx, &a.q.Queries, p.GroupID, caller); err != nil {
		return reply.Refuse(err)
	}
	before, limit := int64(math.MaxInt64), int32(joinRequestsDefaultLimit)
	if p.BeforeId != nil {
		before = *p.BeforeId
	}
	if p.Limit != nil {
		limit = *p.Limit
	}
	rows, err := a.q.JoinRequestListPending(ctx, p.GroupID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list join requests of group %d: %w", p.GroupID, err)
	}
	list := make([]models.JoinRequest, len(rows))
	for i, r := range rows {
		list[i] = toAPIJoinRequest(r)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgJoinRequests, Data: list}, nil
}

// AnswerJoinRequest accepts or rejects a pending join request, for the
// group's owner and admins. The group's row lock orders concurrent answers
// (and joins): the first answer wins, the others get 409. An accepted
// requester is added as by an open join; either way their user sockets
// hear of the answer.
func (a *API) AnswerJoinRequest(ctx context.Context, req server.AnswerJoinRequestRequestObject) (server.AnswerJoinRequestResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	var answered store.JoinRequest
	var added bool
	var tl timeline
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		added, tl = false, timeline{}
		r, err := q.JoinRequestGet(ctx, p.Id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.NoJoinRequest
		case err != nil:
			return fmt.Errorf("read join request: %w", err)
		}
		g, err := q.GroupLockForUpdate(ctx, r.GroupID)
		if err != nil {
			return fmt.Errorf("lock group: %w", err)
		}
		if err := a.mayManage(ctx, q, g.ID, caller); err != nil {
			return err
		}
		status := store.JoinRejected
		if p.Accept {
			status = store.JoinAccepted
		}
		answered, err = q.JoinRequestAnswer(ctx, r.ID, status, caller)
		switch {
		case errors.Is(err, store.ErrConflict):
			return reply.JoinRequestAnswered
		case err != nil:
			return fmt.Errorf("answer join request: %w", err)
		}
		if !p.Accept {
			return nil
		}
		_, err = a.admit(ctx, q, g, r.Account, store.RoleMember, caller, &tl)
		if errors.Is(err, reply.AlreadyMember) {
			return nil // invited meanwhile: the request is answered all the same
		}
		added = err == nil
		return err // a full group leaves the request pending
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("answer join request %d: %w", p.Id, err))
	}
	if added {
		a.membershipChanged(ctx, answered.GroupID, answered.Account, true)
		a.publish(ctx, &tl)
	}
	a.notify(ctx, answered.Account, frame.EncodeJoinRequestAnswered(answered.ID, answered.GroupID, p.Accept))
	a.logger.InfoContext(ctx, "join request answered", slog.Int64("group", answered.GroupID), slog.Int64("request", answered.ID),
		slog.String("by", caller), slog.Bool("accepted", p.Accept))
	return reply.Envelope{Code: http.StatusOK, Message: msgJoinRequestAnswered, Data: toAPIJoinRequest(answered)}, nil
}

// InviteMember adds TargetAccount to the group, whatever its join policy,
// for the group's owner and admins. An account that blocks the inviter
// cannot be added, and the inviter is told only 无权限.
func (a *API) InviteMember(ctx context.Context, req server.InviteMemberRequestObject) (server.InviteMemberResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	var group store.Group
	var tl timeline
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		tl = timeline{}
		g, err := q.GroupLockForUpdate(ctx, p.GroupID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.GroupNotFound
		case err != nil:
			return fmt.Errorf("lock group: %w", err)
		}
		if err := a.mayManage(ctx, q, g.ID, caller); err != nil {
			return err
		}
		if _, err := q.UserGetByAccount(ctx, p.TargetAccount); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return reply.UserNotFound
			}
			return fmt.Errorf("read target: %w", err)
		}
		blocked, err := q.BlockExists(ctx, p.TargetAccount, caller)
		switch {
		case err != nil:
			return fmt.Errorf("check block: %w", err)
		case blocked:
			return reply.NoPermission
		}
		if group, err = a.admit(ctx, q, g, p.TargetAccount, store.RoleMember, caller, &tl); err != nil {
			return err
		}
		if err := q.JoinRequestAcceptPending(ctx, g.ID, p.TargetAccount, caller); err != nil {
			return fmt.Errorf("accept pending join request: %w", err)
		}
		return nil
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("invite %s to group %d: %w", p.TargetAccount, p.GroupID, err))
	}
	a.membershipChanged(ctx, group.ID, p.TargetAccount, true)
	a.publish(ctx, &tl)
	a.logger.InfoContext(ctx, "group member invited", slog.Int64("group", group.ID), slog.String("account", p.TargetAccount), slog.String("by", caller))
	return reply.Envelope{Code: http.StatusOK, Message: msgMemberInvited, Data: a.toAPIGroup(group)}, nil
}

// mayManage refuses unless account is the owner or an admin of group g:
// 404 when g does not exist (or was dissolved), 403 otherwise.
func (a *API) mayManage(ctx context.Context, q *store.Queries, g int64, account string) error {
	role, err := q.GroupMemberRole(ctx, g, account)
	switch {
	case err == nil && (role == store.RoleOwner || role == store.RoleAdmin):
		return nil
	case err == nil:
		return reply.NotGroupManager
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read role: %w", err)
	}
	if _, err := q.GroupMembership(ctx, g, account); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return reply.GroupNotFound
		}
		return fmt.Errorf("check group: %w", err)
	}
	return reply.NotGroupManager
}

// notifyJoinRequest tells the user sockets of the group's owner and admins
// of a new request.
func (a *API) notifyJoinRequest(ctx context.Context, r store.JoinRequest) {
	managers, err := a.q.GroupManagers(ctx, r.GroupID)
	if err != nil {
		a.logger.WarnContext(ctx, "list group managers", slog.Int64("group", r.GroupID), slog.Any("err", err))
		return
	}
	data := frame.EncodeJoinRequest(frame.JoinRequest{ID: r.ID, GroupID: r.GroupID, Account: r.Account, Message: r.Message, Time: r.Time})
	for _, m := range managers {
		a.notify(ctx, m, data)
	}
}

// notify hands a notice frame to account's user sockets on every instance.
// A notice is not stored: what it says is in the REST lists for a client
// that was away.
func (a *API) notify(ctx context.Context, account string, data []byte) {
	if err := a.subs.Publish(ctx, account, "", data); err != nil {
		a.logger.WarnContext(ctx, "publish notice", slog.String("account", account), slog.Any("err", err))
	}
}

// toAPIJoinRequest is r as responses show it.
func toAPIJoinRequest(r store.JoinRequest) models.JoinRequest {
	return models.JoinRequest{
		Id: r.ID, GroupId: r.GroupID, Account: r.Account, Message: r.Message,
		Time: r.Time.UTC(), Status: models.JoinRequestStatus(r.Status),
	}
}
