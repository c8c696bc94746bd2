package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// Group is a group as stored.
type Group struct {
	ID          int64
	Name        string
	Owner       string
	MemberCount int32
	CreatedAt   time.Time
	// JoinPolicy is open, approval or invite; "" when the group has none
	// of its own and follows the deployment's default.
	JoinPolicy string
	// HistoryVisibility is shared or joined.
	HistoryVisibility string
	Announcement      string
	// Muted: only the owner and admins may send.
	Muted bool
	// Dissolved: the group has no members and takes none.
	Dissolved bool
}

// Member roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Member is one member of a group as getGroupMembers lists it.
type Member struct {
	Account string
	Role    string
	// MutedUntil is zero when the member is not muted.
	MutedUntil time.Time
}

// Membership is one account's membership of one group.
type Membership struct {
	Account string
	GroupID int64
}

// Friendship is one direction of a friendship: Friend is Account's friend.
type Friendship struct {
	Account string
	Friend  string
}

func groupFromRow(r db.Group) Group {
	g := Group{
		ID: r.ID, Name: r.Name, Owner: r.Owner, MemberCount: r.MemberCount, CreatedAt: r.CreatedAt.Time,
		HistoryVisibility: r.HistoryVisibility, Announcement: r.Announcement, Muted: r.Muted, Dissolved: r.DissolvedAt.Valid,
	}
	if r.JoinPolicy != nil {
		g.JoinPolicy = *r.JoinPolicy
	}
	return g
}

// FriendshipExists reports whether friend is account's friend.
func (q *Queries) FriendshipExists(ctx context.Context, account, friend string) (bool, error) {
	ok, err := q.q.FriendshipExists(ctx, db.FriendshipExistsParams{Account: account, Friend: friend})
	return ok, interpretError(err)
}

// FriendAccounts returns account's friends, ordered by account.
func (q *Queries) FriendAccounts(ctx context.Context, account string) ([]string, error) {
	friends, err := q.q.FriendAccounts(ctx, account)
	return friends, interpretError(err)
}

// FriendshipListOf returns the friendships of each of accounts, ordered by
// account and friend.
func (q *Queries) FriendshipListOf(ctx context.Context, accounts []string) ([]Friendship, error) {
	rows, err := q.q.FriendshipListOf(ctx, accounts)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]Friendship, len(rows))
	for i, r := range rows {
		out[i] = Friendship{Account: r.Account, Friend: r.Friend}
	}
	return out, nil
}

// FriendshipInsertPair makes lo and hi friends, both rows in one
// statement; callers pass lo < hi, so that concurrent calls for one pair
// take its rows in the same order. inserted is false when they were
// friends already; ErrForeignKey when an account does not exist.
func (q *Queries) FriendshipInsertPair(ctx context.Context, lo, hi string) (inserted bool, err error) {
	n, err := q.q.FriendshipInsertPair(ctx, db.FriendshipInsertPairParams{Lo: lo, Hi: hi})
	return n > 0, interpretError(err)
}

// FriendshipDeletePair ends the friendship of lo and hi (lo < hi) in both
// directions; deleted is false when they were not friends.
func (q *Queries) FriendshipDeletePair(ctx context.Context, lo, hi string) (deleted bool, err error) {
	n, err := q.q.FriendshipDeletePair(ctx, db.FriendshipDeletePairParams{Lo: lo, Hi: hi})
	return n > 0, interpretError(err)
}

// GroupLockForUpdate returns group id locked until the transaction ends,
// which serialises joins and leaves of one group; ErrNotFound when it does
// not exist.
func (q *Queries) GroupLockForUpdate(ctx context.Context, id int64) (Group, error) {
	r, err := q.q.GroupLockForUpdate(ctx, id)
	if err != nil {
		return Group{}, interpretError(err)
	}
	return groupFromRow(r), nil
}

// GroupInsertIfMissing creates group id unless it exists (waiting for a
// concurrent creator of the same id, then doing nothing).
func (q *Queries) GroupInsertIfMissing(ctx context.Context, id int64, name, owner string) error {
	return interpretError(q.q.GroupInsertIfMissing(ctx, db.GroupInsertIfMissingParams{ID: id, Name: name, Owner: owner}))
}

// GroupListByMember returns the groups account belongs to, ordered by id.
func (q *Queries) GroupListByMember(ctx context.Context, account string) ([]Group, error) {
	rows, err := q.q.GroupListByMember(ctx, account)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]Group, len(rows))
	for i, r := range rows {
		out[i] = groupFromRow(r)
	}
	return out, nil
}

// GroupMemberExists reports whether account is a member of group groupID.
func (q *Queries) GroupMemberExists(ctx context.Context, groupID int64, account string) (bool, error) {
	ok, err := q.q.GroupMemberExists(ctx, db.GroupMemberExistsParams{GroupID: groupID, Account: account})
	return ok, interpretError(err)
}

// GroupMembership reports whether account is a member of group groupID,
// in one query; ErrNotFound when the group does not exist.
func (q *Queries) GroupMembership(ctx context.Context, groupID int64, account string) (member bool, err error) {
	r, err := q.q.GroupMembership(ctx, db.GroupMembershipParams{GroupID: groupID, Account: account})
	if err != nil {
		return false, interpretError(err)
	}
	if !r.GroupExists {
		return false, ErrNotFound
	}
	return r.Member, nil
}

// GroupMemberAccounts returns the members of group groupID, ordered by
// account.
func (q *Queries) GroupMemberAccounts(ctx context.Context, groupID int64) ([]string, error) {
	accounts, err := q.q.GroupMemberAccounts(ctx, groupID)
	return accounts, interpretError(err)
}

// GroupMemberGroupIDs returns the ids of the groups account belongs to, in
// order.
func (q *Queries) GroupMemberGroupIDs(ctx context.Context, account string) ([]int64, error) {
	ids, err := q.q.GroupMemberGroupIDs(ctx, account)
	return ids, interpretError(err)
}

// GroupMembershipsOf returns the memberships of each of accounts.
func (q *Queries) GroupMembershipsOf(ctx context.Context, accounts []string) ([]Membership, error) {
	rows, err := q.q.GroupMembershipsOf(ctx, accounts)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]Membership, len(rows))
	for i, r := range rows {
		out[i] = Membership{Account: r.Account, GroupID: r.GroupID}
	}
	return out, nil
}

// GroupMemberInsert adds account to group groupID with role, from the
// group's newest seq; ErrConflict when it is a member already.
func (q *Queries) GroupMemberInsert(ctx context.Context, groupID int64, account, role string) error {
	return interpretError(q.q.GroupMemberInsert(ctx, db.GroupMemberInsertParams{GroupID: groupID, Account: account, Role: role}))
}

// GroupMemberList returns the members of group groupID with their roles
// and mutes, ordered by account.
func (q *Queries) GroupMemberList(ctx context.Context, groupID int64) ([]Member, error) {
	rows, err := q.q.GroupMemberList(ctx, groupID)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{Account: r.Account, Role: r.Role, MutedUntil: r.MutedUntil.Time}
	}
	return out, nil
}

// GroupMemberDelete removes account from group groupID; deleted is false
// when it was not a member.
func (q *Queries) GroupMemberDelete(ctx context.Context, groupID int64, account string) (deleted bool, err error) {
	n, err := q.q.GroupMemberDelete(ctx, db.GroupMemberDeleteParams{GroupID: groupID, Account: account})
	return n > 0, interpretError(err)
}

// GroupMemberCountAdjust adds delta to the member count of group id and
// returns the group. Call it with the group locked (GroupLockForUpdate).
func (q *Queries) GroupMemberCountAdjust(ctx context.Context, id int64, delta int32) (Group, error) {
	r, err := q.q.GroupMemberCountAdjust(ctx, db.GroupMemberCountAdjustParams{ID: id, Delta: delta})
	if err != nil {
		return Group{}, interpretError(err)
	}
	return groupFromRow(r), nil
}
