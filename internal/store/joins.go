package store

import (
	"context"
	"errors"
	"time"

	"tim/gen/db"
)

// JoinRequest is a request to join a group whose policy is approval.
type JoinRequest struct {
	ID      int64
	GroupID int64
	Account string
	Message string
	// Status is pending, accepted or rejected.
	Status string
	Time   time.Time
}

// Join request statuses.
const (
	JoinPending  = "pending"
	JoinAccepted = "accepted"
	JoinRejected = "rejected"
)

func joinRequestFromRow(r db.JoinRequest) JoinRequest {
	return JoinRequest{ID: r.ID, GroupID: r.GroupID, Account: r.Account, Message: r.Message, Status: r.Status, Time: r.CreatedAt.Time}
}

// NewGroup is a group createGroup makes.
type NewGroup struct {
	ID    int64
	Name  string
	Owner string
	// JoinPolicy is "" to follow the deployment's default.
	JoinPolicy        string
	HistoryVisibility string
}

// GroupInsertWithID creates the group under g.ID; ErrConflict when a group
// (live or dissolved) has that id already.
func (q *Queries) GroupInsertWithID(ctx context.Context, g NewGroup) (Group, error) {
	arg := db.GroupInsertWithIDParams{ID: g.ID, Name: g.Name, Owner: g.Owner, HistoryVisibility: g.HistoryVisibility}
	if g.JoinPolicy != "" {
		arg.JoinPolicy = &g.JoinPolicy
	}
	r, err := q.q.GroupInsertWithID(ctx, arg)
	if err != nil {
		if err = interpretError(err); isNotFound(err) {
			return Group{}, ErrConflict
		}
		return Group{}, err
	}
	return groupFromRow(r), nil
}

// GroupMemberRole returns account's role in group groupID; ErrNotFound when
// it is not a member.
func (q *Queries) GroupMemberRole(ctx context.Context, groupID int64, account string) (string, error) {
	role, err := q.q.GroupMemberRole(ctx, db.GroupMemberRoleParams{GroupID: groupID, Account: account})
	return role, interpretError(err)
}

// GroupManagers returns the owner and admins of group groupID, by account.
func (q *Queries) GroupManagers(ctx context.Context, groupID int64) ([]string, error) {
	accounts, err := q.q.GroupManagers(ctx, groupID)
	return accounts, interpretError(err)
}

// BlockExists reports whether blocker blocks blocked.
func (q *Queries) BlockExists(ctx context.Context, blocker, blocked string) (bool, error) {
	ok, err := q.q.BlockExists(ctx, db.BlockExistsParams{Blocker: blocker, Blocked: blocked})
	return ok, interpretError(err)
}

// JoinRequestPending returns account's pending request to join group
// groupID, making it with message when there is none; created is false
// when one was pending already.
func (q *Queries) JoinRequestPending(ctx context.Context, groupID int64, account, message string) (r JoinRequest, created bool, err error) {
	row, err := q.q.JoinRequestInsert(ctx, db.JoinRequestInsertParams{GroupID: groupID, Account: account, Message: message})
	if err == nil {
		return joinRequestFromRow(row), true, nil
	}
	if err = interpretError(err); !isNotFound(err) {
		return JoinRequest{}, false, err
	}
	row, err = q.q.JoinRequestGetPending(ctx, db.JoinRequestGetPendingParams{GroupID: groupID, Account: account})
	if err != nil {
		return JoinRequest{}, false, interpretError(err)
	}
	return joinRequestFromRow(row), false, nil
}

// JoinRequestGet returns join request id; ErrNotFound when there is none.
func (q *Queries) JoinRequestGet(ctx context.Context, id int64) (JoinRequest, error) {
	r, err := q.q.JoinRequestGet(ctx, id)
	if err != nil {
		return JoinRequest{}, interpretError(err)
	}
	return joinRequestFromRow(r), nil
}

// JoinRequestAnswer sets pending request id to status (JoinAccepted or
// JoinRejected), answered by by; ErrConflict when it is no longer pending
// (a concurrent answer waits for the first, then gets this).
func (q *Queries) JoinRequestAnswer(ctx context.Context, id int64, status, by string) (JoinRequest, error) {
	r, err := q.q.JoinRequestAnswer(ctx, db.JoinRequestAnswerParams{ID: id, Status: status, AnsweredBy: &by})
	if err != nil {
		if err = interpretError(err); isNotFound(err) {
			return JoinRequest{}, ErrConflict
		}
		return JoinRequest{}, err
	}
	return joinRequestFromRow(r), nil
}

// JoinRequestAcceptPending accepts account's pending request to join group
// groupID, if it has one, answered by by.
func (q *Queries) JoinRequestAcceptPending(ctx context.Context, groupID int64, account, by string) error {
	return interpretError(q.q.JoinRequestAcceptPending(ctx, db.JoinRequestAcceptPendingParams{GroupID: groupID, Account: account, AnsweredBy: &by}))
}

// JoinRequestListPending returns up to limit of group groupID's pending
// requests with an id below beforeID, newest first.
func (q *Queries) JoinRequestListPending(ctx context.Context, groupID, beforeID int64, limit int32) ([]JoinRequest, error) {
	rows, err := q.q.JoinRequestListPending(ctx, db.JoinRequestListPendingParams{GroupID: groupID, BeforeID: beforeID, MaxRows: limit})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]JoinRequest, len(rows))
	for i, r := range rows {
		out[i] = joinRequestFromRow(r)
	}
	return out, nil
}

// GroupReadFloor reports whether account is a member of group groupID and
// the seq at or below which it reads nothing there (0 but in a group whose
// history is visible from the join only); ErrNotFound when the group does
// not exist.
func (q *Queries) GroupReadFloor(ctx context.Context, groupID int64, account string) (member bool, floor int64, err error) {
	r, err := q.q.GroupReadFloor(ctx, db.GroupReadFloorParams{GroupID: groupID, Account: account})
	if err != nil {
		return false, 0, interpretError(err)
	}
	if !r.GroupExists {
		return false, 0, ErrNotFound
	}
	return r.Member, r.FloorSeq, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
