package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// Friend policies.
const (
	FriendPolicyOpen     = "open"
	FriendPolicyApproval = "approval"
	FriendPolicyClosed   = "closed"
)

// Friend request statuses.
const (
	RequestPending   = "pending"
	RequestAccepted  = "accepted"
	RequestRejected  = "rejected"
	RequestCancelled = "cancelled"
	RequestExpired   = "expired"
)

// FriendRequest is a request to become friends as stored.
type FriendRequest struct {
	ID       int64
	From, To string
	Message  string
	Status   string
	Time     time.Time
}

// ProfileChange holds the profile fields to change; nil keeps a field.
type ProfileChange struct {
	Username     *string
	Age          *int32
	Sex          *string
	FriendPolicy *string
}

// Blocks says which way a block stands between two accounts a and b.
type Blocks struct {
	// ABlocksB: a blocks b; BBlocksA: b blocks a.
	ABlocksB, BBlocksA bool
}

// Any reports whether a block stands either way.
func (b Blocks) Any() bool { return b.ABlocksB || b.BBlocksA }

func friendRequestFromRow(r db.FriendRequest) FriendRequest {
	return FriendRequest{ID: r.ID, From: r.FromAccount, To: r.ToAccount, Message: r.Message, Status: r.Status, Time: r.CreatedAt.Time}
}

func friendRequestsFromRows(rows []db.FriendRequest) []FriendRequest {
	out := make([]FriendRequest, len(rows))
	for i, r := range rows {
		out[i] = friendRequestFromRow(r)
	}
	return out
}

// FriendPairLock holds, until the transaction ends, the lock of the pair
// lo < hi under which every change of their friendship and requests runs.
func (q *Queries) FriendPairLock(ctx context.Context, lo, hi string) error {
	return interpretError(q.q.FriendPairLock(ctx, db.FriendPairLockParams{Lo: lo, Hi: hi}))
}

// UserFriendPolicy returns account's friend policy; ErrNotFound when the
// account does not exist.
func (q *Queries) UserFriendPolicy(ctx context.Context, account string) (string, error) {
	p, err := q.q.UserFriendPolicy(ctx, account)
	return p, interpretError(err)
}

// UserProfileUpdate applies c to account's profile and returns its friend
// policy after it; ErrNotFound when the account does not exist.
func (q *Queries) UserProfileUpdate(ctx context.Context, account string, c ProfileChange) (policy string, err error) {
	p, err := q.q.UserProfileUpdate(ctx, db.UserProfileUpdateParams{
		Account: account, Username: c.Username, Age: c.Age, Sex: c.Sex, FriendPolicy: c.FriendPolicy,
	})
	return p, interpretError(err)
}

// FriendRequestInsert stores a pending request from from to to that
// expires after ttl; ErrConflict when one is pending already.
func (q *Queries) FriendRequestInsert(ctx context.Context, from, to, message string, ttl time.Duration) (FriendRequest, error) {
	r, err := q.q.FriendRequestInsert(ctx, db.FriendRequestInsertParams{FromAccount: from, ToAccount: to, Message: message, TtlSecs: ttl.Seconds()})
	if err != nil {
		return FriendRequest{}, interpretError(err)
	}
	return friendRequestFromRow(r), nil
}

// FriendRequestPending returns the unexpired pending request from from to
// to; ErrNotFound when there is none.
func (q *Queries) FriendRequestPending(ctx context.Context, from, to string) (FriendRequest, error) {
	r, err := q.q.FriendRequestPending(ctx, db.FriendRequestPendingParams{FromAccount: from, ToAccount: to})
	if err != nil {
		return FriendRequest{}, interpretError(err)
	}
	return friendRequestFromRow(r), nil
}

// FriendRequestExpirePair marks expired the pending requests from from to
// to whose time has passed.
func (q *Queries) FriendRequestExpirePair(ctx context.Context, from, to string) error {
	return interpretError(q.q.FriendRequestExpirePair(ctx, db.FriendRequestExpirePairParams{FromAccount: from, ToAccount: to}))
}

// FriendRequestGet returns request id; ErrNotFound when it does not exist.
func (q *Queries) FriendRequestGet(ctx context.Context, id int64) (FriendRequest, error) {
	r, err := q.q.FriendRequestGet(ctx, id)
	if err != nil {
		return FriendRequest{}, interpretError(err)
	}
	return friendRequestFromRow(r), nil
}

// FriendRequestClose moves request id from pending to status and returns
// it; ErrNotFound when it is not pending (answered, cancelled, expired) or
// does not exist. Of concurrent calls for one request, one wins.
func (q *Queries) FriendRequestClose(ctx context.Context, id int64, status string) (FriendRequest, error) {
	r, err := q.q.FriendRequestClose(ctx, db.FriendRequestCloseParams{ID: id, Status: status})
	if err != nil {
		return FriendRequest{}, interpretError(err)
	}
	return friendRequestFromRow(r), nil
}

// FriendRequestCloseBetween closes with status the pending requests
// between a and b, either way.
func (q *Queries) FriendRequestCloseBetween(ctx context.Context, a, b, status string) error {
	return interpretError(q.q.FriendRequestCloseBetween(ctx, db.FriendRequestCloseBetweenParams{A: a, B: b, Status: status}))
}

// FriendRequestListTo returns up to limit unexpired pending requests to
// account with an id below beforeID, newest first.
func (q *Queries) FriendRequestListTo(ctx context.Context, account string, beforeID int64, limit int32) ([]FriendRequest, error) {
	rows, err := q.q.FriendRequestListTo(ctx, db.FriendRequestListToParams{ToAccount: account, BeforeID: beforeID, MaxRows: limit})
	if err != nil {
		return nil, interpretError(err)
	}
	return friendRequestsFromRows(rows), nil
}

// FriendRequestListFrom returns up to limit unexpired pending requests
// from account with an id below beforeID, newest first.
func (q *Queries) FriendRequestListFrom(ctx context.Context, account string, beforeID int64, limit int32) ([]FriendRequest, error) {
	rows, err := q.q.FriendRequestListFrom(ctx, db.FriendRequestListFromParams{FromAccount: account, BeforeID: beforeID, MaxRows: limit})
	if err != nil {
		return nil, interpretError(err)
	}
	return friendRequestsFromRows(rows), nil
}

// BlockInsert makes blocker block blocked; a block that stands already is
// kept. ErrForeignKey when an account does not exist.
func (q *Queries) BlockInsert(ctx context.Context, blocker, blocked string) error {
	return interpretError(q.q.BlockInsert(ctx, db.BlockInsertParams{Blocker: blocker, Blocked: blocked}))
}

// BlockDelete ends blocker's block of blocked, if any.
func (q *Queries) BlockDelete(ctx context.Context, blocker, blocked string) error {
	return interpretError(q.q.BlockDelete(ctx, db.BlockDeleteParams{Blocker: blocker, Blocked: blocked}))
}

// BlockBetween reports which way a block stands between a and b.
func (q *Queries) BlockBetween(ctx context.Context, a, b string) (Blocks, error) {
	r, err := q.q.BlockBetween(ctx, db.BlockBetweenParams{A: a, B: b})
	if err != nil {
		return Blocks{}, interpretError(err)
	}
	return Blocks{ABlocksB: r.ABlocks, BBlocksA: r.BBlocks}, nil
}

// BlockedAccounts returns the accounts account blocks, ordered by account.
func (q *Queries) BlockedAccounts(ctx context.Context, account string) ([]string, error) {
	out, err := q.q.BlockedAccounts(ctx, account)
	return out, interpretError(err)
}

// BlockPartners returns the accounts a block stands between account and,
// either way, in no particular order.
func (q *Queries) BlockPartners(ctx context.Context, account string) ([]string, error) {
	out, err := q.q.BlockPartners(ctx, account)
	return out, interpretError(err)
}
