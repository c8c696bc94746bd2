package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tim/internal/store"
	"tim/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// connect opens a connection of the test's own to url, closed when the
// test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// openURL returns a migrated store on a fresh database, and the database's
// URL for connections of the test's own.
func openURL(t *testing.T) (*store.Store, string) {
	t.Helper()
	ctx := t.Context()
	url := testdb.New(t)
	st, err := store.Open(ctx, url, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return st, url
}

// open returns a migrated store on a fresh database holding accounts a and
// b and groups 1 and 2.
func open(t *testing.T) *store.Store {
	t.Helper()
	ctx := t.Context()
	st, _ := openURL(t)
	for _, acc := range []string{"a", "b"} {
		if _, err := st.UserInsert(ctx, store.NewUser{Account: acc, Username: acc, PasswordHash: "x", Sex: "male", Age: 20}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{1, 2} {
		if err := st.GroupInsertIfMissing(ctx, id, "g", "a"); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestErrorsAreTranslated: what the database refuses reaches callers as
// the package's sentinels, whatever the driver's own errors.
func TestErrorsAreTranslated(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()

	if _, err := st.UserGetByAccount(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing user: %v, want store.ErrNotFound", err)
	}
	if _, err := st.GroupMembership(ctx, 99, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("membership of a missing group: %v, want store.ErrNotFound", err)
	}
	if _, err := st.TokenState(ctx, "nobody", "jti"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token state of a missing user: %v, want store.ErrNotFound", err)
	}
	if _, err := st.UserInsert(ctx, store.NewUser{Account: "a", Username: "again", PasswordHash: "x", Sex: "male", Age: 20}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("account taken: %v, want store.ErrConflict", err)
	}
	if err := st.GroupMemberInsert(ctx, 1, "a", store.RoleMember); err != nil {
		t.Fatal(err)
	}
	if err := st.GroupMemberInsert(ctx, 1, "a", store.RoleMember); !errors.Is(err, store.ErrConflict) {
		t.Errorf("member twice: %v, want store.ErrConflict", err)
	}
	if _, err := st.FriendshipInsertPair(ctx, "a", "nobody"); !errors.Is(err, store.ErrForeignKey) {
		t.Errorf("friend of a missing account: %v, want store.ErrForeignKey", err)
	}
	if _, err := st.FriendshipInsertPair(ctx, "a", "nobody"); errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("foreign key violation also matches another sentinel: %v", err)
	}
}

// TestDeadlockIsSerialization: two transactions that lock two groups in
// opposite orders deadlock; PostgreSQL aborts one, and its caller sees
// store.ErrSerialization (worth retrying), the other commits.
func TestDeadlockIsSerialization(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	var first sync.WaitGroup // both hold their first lock
	first.Add(2)
	errs := make(chan error, 2)
	for _, order := range [][2]int64{{1, 2}, {2, 1}} {
		go func() {
			errs <- st.Tx(ctx, func(q *store.Queries) error {
				if _, err := q.GroupLockForUpdate(ctx, order[0]); err != nil {
					first.Done()
					return err
				}
				first.Done()
				first.Wait()
				_, err := q.GroupLockForUpdate(ctx, order[1])
				return err
			})
		}()
	}
	var failed []error
	for range 2 {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !errors.Is(failed[0], store.ErrSerialization) {
		t.Fatalf("deadlocked transactions failed with %v, want one store.ErrSerialization", failed)
	}
}

// TestGroupMembership: one query tells a missing group from a group the
// account is not in, and from one it is in.
func TestGroupMembership(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	if err := st.GroupMemberInsert(ctx, 1, "a", store.RoleMember); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		group      int64
		account    string
		wantMember bool
		wantErr    error
	}{
		{1, "a", true, nil},
		{1, "b", false, nil},
		{2, "a", false, nil},
		{3, "a", false, store.ErrNotFound},
	} {
		member, err := st.GroupMembership(ctx, tc.group, tc.account)
		if member != tc.wantMember || !errors.Is(err, tc.wantErr) {
			t.Errorf("GroupMembership(%d, %q) = %v, %v; want %v, %v", tc.group, tc.account, member, err, tc.wantMember, tc.wantErr)
		}
	}
}

// TestStatementTimeoutIsDeadline: on a store with a statement timeout, a
// statement that waits longer is cancelled by the server and fails with
// context.DeadlineExceeded, although the caller's context had no deadline.
func TestStatementTimeoutIsDeadline(t *testing.T) {
	st := open(t)
	ctx := t.Context()
	short, err := st.WithStatementTimeout(ctx, 200*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	if _, err := short.GroupMembership(ctx, 1, "a"); err != nil {
		t.Fatalf("quick statement: %v", err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.Tx(ctx, func(q *store.Queries) error {
			if _, err := q.GroupLockForUpdate(ctx, 1); err != nil {
				close(locked)
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	err = short.Tx(ctx, func(q *store.Queries) error {
		_, err := q.GroupLockForUpdate(ctx, 1)
		return err
	})
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("statement past the timeout: %v, want context.DeadlineExceeded", err)
	}
	if _, err := st.GroupLockForUpdate(ctx, 1); err != nil {
		t.Fatalf("store without timeout: %v", err)
	}
}
