package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// GroupSettings are the settings GroupUpdateSettings changes; nil keeps
// the stored value.
type GroupSettings struct {
	Name              *string
	Announcement      *string
	JoinPolicy        *string
	HistoryVisibility *string
	Muted             *bool
}

// GroupEvent is a group event to store at its conversation's next seq.
type GroupEvent struct {
	GroupID int64
	Conv    string
	Actor   string
	Body    string // the event's JSON
}

// GroupMemberGetForUpdate returns account's membership of group groupID
// (Account, Role and a running mute), its row locked until the transaction
// ends; ErrNotFound when account is not a member.
func (q *Queries) GroupMemberGetForUpdate(ctx context.Context, groupID int64, account string) (Member, error) {
	r, err := q.q.GroupMemberGetForUpdate(ctx, db.GroupMemberGetForUpdateParams{GroupID: groupID, Account: account})
	if err != nil {
		return Member{}, interpretError(err)
	}
	return Member{Account: account, Role: r.Role, MutedUntil: r.MutedUntil.Time}, nil
}

// GroupMemberSetRole gives account role in group groupID; updated is false
// when it is not a member.
func (q *Queries) GroupMemberSetRole(ctx context.Context, groupID int64, account, role string) (updated bool, err error) {
	n, err := q.q.GroupMemberSetRole(ctx, db.GroupMemberSetRoleParams{GroupID: groupID, Account: account, Role: role})
	return n > 0, interpretError(err)
}

// GroupMemberSetMute mutes account in group groupID for d from now (0
// lifts the mute) and returns the mute's end, zero when lifted;
// ErrNotFound when it is not a member.
func (q *Queries) GroupMemberSetMute(ctx context.Context, groupID int64, account string, d time.Duration) (time.Time, error) {
	until, err := q.q.GroupMemberSetMute(ctx, db.GroupMemberSetMuteParams{GroupID: groupID, Account: account, Secs: int32(d / time.Second)})
	if err != nil {
		return time.Time{}, interpretError(err)
	}
	return until.Time, nil
}

// GroupSetOwner records owner as group id's owner.
func (q *Queries) GroupSetOwner(ctx context.Context, id int64, owner string) error {
	return interpretError(q.q.GroupSetOwner(ctx, db.GroupSetOwnerParams{ID: id, Owner: owner}))
}

// GroupUpdateSettings changes group id's settings that s sets and returns
// the group.
func (q *Queries) GroupUpdateSettings(ctx context.Context, id int64, s GroupSettings) (Group, error) {
	r, err := q.q.GroupUpdateSettings(ctx, db.GroupUpdateSettingsParams{
		ID: id, Name: s.Name, Announcement: s.Announcement, JoinPolicy: s.JoinPolicy,
		HistoryVisibility: s.HistoryVisibility, Muted: s.Muted,
	})
	if err != nil {
		return Group{}, interpretError(err)
	}
	return groupFromRow(r), nil
}

// GroupDissolve marks group id dissolved, keeping its row so that its id
// is never used again, removes every member and returns them, by account.
func (q *Queries) GroupDissolve(ctx context.Context, id int64) ([]string, error) {
	accounts, err := q.q.GroupDissolve(ctx, id)
	return accounts, interpretError(err)
}

// GroupEventInsert stores e at the next seq of its group's conversation,
// creating the conversation when the group has no message yet, and returns
// the stored row.
func (q *Queries) GroupEventInsert(ctx context.Context, e GroupEvent) (Message, error) {
	gid := e.GroupID
	seq, err := q.q.ConversationTakeGroupSeq(ctx, db.ConversationTakeGroupSeqParams{Conv: e.Conv, GroupID: &gid})
	if err != nil {
		return Message{}, interpretError(err)
	}
	r, err := q.q.MessageInsertEvent(ctx, db.MessageInsertEventParams{Conv: e.Conv, Seq: seq, Sender: e.Actor, GroupID: &gid, Body: e.Body})
	if err != nil {
		return Message{}, interpretError(err)
	}
	return Message{
		ID: deref(r.ID), Conv: e.Conv, Seq: seq, Sender: e.Actor, GroupID: gid, Kind: "event", Body: e.Body, Time: r.CreatedAt.Time,
	}, nil
}
