package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// Instances beat a heartbeat; one silent for longer than the presence
// timeout is dead, and its users are offline.

// InstanceHeartbeat registers instance id or renews its heartbeat.
func (q *Queries) InstanceHeartbeat(ctx context.Context, id string) error {
	return interpretError(q.q.InstanceHeartbeat(ctx, id))
}

// InstanceDelete removes instance id with its presence rows.
func (q *Queries) InstanceDelete(ctx context.Context, id string) error {
	return interpretError(q.q.InstanceDelete(ctx, id))
}

// InstanceDeleteDead forgets instances silent for longer than olderThan
// and returns how many.
func (q *Queries) InstanceDeleteDead(ctx context.Context, olderThan time.Duration) (int64, error) {
	n, err := q.q.InstanceDeleteDead(ctx, olderThan.Seconds())
	return n, interpretError(err)
}

// InstanceListLive returns the ids of the instances that beat within
// within.
func (q *Queries) InstanceListLive(ctx context.Context, within time.Duration) ([]string, error) {
	ids, err := q.q.InstanceListLive(ctx, within.Seconds())
	return ids, interpretError(err)
}

// PresenceApply sets the socket counts of accounts on instance
// instanceID; a count of 0 removes the account's row.
func (q *Queries) PresenceApply(ctx context.Context, instanceID string, accounts []string, sockets []int32) error {
	return interpretError(q.q.PresenceApply(ctx, db.PresenceApplyParams{InstanceID: instanceID, Accounts: accounts, Sockets: sockets}))
}

// PresenceOnlineAccounts returns those of accounts with a socket on an
// instance that beat within timeout.
func (q *Queries) PresenceOnlineAccounts(ctx context.Context, accounts []string, timeout time.Duration) ([]string, error) {
	online, err := q.q.PresenceOnlineAccounts(ctx, db.PresenceOnlineAccountsParams{Accounts: accounts, PresenceTimeoutSecs: timeout.Seconds()})
	return online, interpretError(err)
}

// PresenceTakeStale removes the presence rows of instances other than self
// silent for longer than olderThan and returns their accounts (with
// repeats); concurrent callers each get distinct rows.
func (q *Queries) PresenceTakeStale(ctx context.Context, self string, olderThan time.Duration) ([]string, error) {
	accounts, err := q.q.PresenceTakeStale(ctx, db.PresenceTakeStaleParams{Self: self, OlderThanSecs: olderThan.Seconds()})
	return accounts, interpretError(err)
}

// GroupPresenceUpsert sets how many group sockets of group groupID account
// holds on instance instanceID (sockets > 0).
func (q *Queries) GroupPresenceUpsert(ctx context.Context, instanceID string, groupID int64, account string, sockets int32) error {
	return interpretError(q.q.GroupPresenceUpsert(ctx, db.GroupPresenceUpsertParams{InstanceID: instanceID, GroupID: groupID, Account: account, Sockets: sockets}))
}

// GroupPresenceDelete records that account holds no group socket of group
// groupID on instance instanceID.
func (q *Queries) GroupPresenceDelete(ctx context.Context, instanceID string, groupID int64, account string) error {
	return interpretError(q.q.GroupPresenceDelete(ctx, db.GroupPresenceDeleteParams{InstanceID: instanceID, GroupID: groupID, Account: account}))
}

// GroupPresenceOnline returns the members of group groupID connected to a
// group socket on an instance that beat within timeout, ordered by account.
func (q *Queries) GroupPresenceOnline(ctx context.Context, groupID int64, timeout time.Duration) ([]AccountName, error) {
	rows, err := q.q.GroupPresenceOnline(ctx, db.GroupPresenceOnlineParams{GroupID: groupID, PresenceTimeoutSecs: timeout.Seconds()})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]AccountName, len(rows))
	for i, r := range rows {
		out[i] = AccountName{Account: r.Account, Username: r.Username}
	}
	return out, nil
}
