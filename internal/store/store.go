// Package store is Tim's PostgreSQL layer. It opens the connection pool,
// applies the embedded migrations and wraps the queries that sqlc
// generates from queries/*.sql (package gen/db): its methods take and
// return plain Go values and the small types declared here (User, Group,
// Medium, Message, ...), never driver or generated types, and every error
// passes through one translation (interpretError) into the sentinels
// ErrNotFound, ErrConflict, ErrForeignKey and ErrSerialization, or
// context.DeadlineExceeded for a statement the server timed out.
//
// No other package imports pgx or gen/db outside tests (boundary_test.go
// checks it; testdb, which only tests use, is the exception): the domain
// packages call a *Store, and a unit of work that needs several statements
// in one transaction runs them through Tx. PingServer and EnsureDatabase
// administer the private cluster of package pgcluster.
package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/db"
)

// Queries are the statements Tim runs. Outside a transaction each runs on
// its own; inside Tx they share the transaction.
type Queries struct {
	q *db.Queries
}

// Store is a connection pool with the queries: Store's methods each run in
// their own implicit transaction.
type Store struct {
	Queries
	pool *pgxpool.Pool
}

// Open connects a pool of at most maxConns connections (0: pgx's default)
// to url and checks that the database answers.
func Open(ctx context.Context, url string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	return openPool(ctx, cfg)
}

func openPool(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return newStore(pool), nil
}

func newStore(pool *pgxpool.Pool) *Store {
	return &Store{Queries: Queries{q: db.New(pool)}, pool: pool}
}

// WithStatementTimeout opens a Store of its own, with at most maxConns
// connections configured like s's, on which the server cancels any
// statement that runs longer than timeout (PostgreSQL's
// statement_timeout). A statement that fails with context.DeadlineExceeded
// there was not committed, which a deadline on the client's side alone
// cannot promise: the server may still commit a statement whose client gave
// up. Close it when done.
func (s *Store) WithStatementTimeout(ctx context.Context, timeout time.Duration, maxConns int32) (*Store, error) {
	cfg := s.pool.Config().Copy()
	cfg.MaxConns, cfg.MinConns = maxConns, 0
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool with a statement timeout: %w", err)
	}
	return newStore(pool), nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return interpretError(s.pool.Ping(ctx))
}

// Tx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise; fn's error is returned as it is.
func (s *Store) Tx(ctx context.Context, fn func(q *Queries) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", interpretError(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(&Queries{q: s.q.WithTx(tx)}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", interpretError(err))
	}
	return nil
}

// PoolStats are the connection pool's figures at one moment.
type PoolStats struct {
	Acquired, Idle, Constructing, Max int32
	Acquires, EmptyAcquires           int64
	EmptyAcquireWait                  time.Duration
	CanceledAcquires, NewConns        int64
}

// PoolStats reads the pool's figures, for metrics.
func (s *Store) PoolStats() PoolStats {
	st := s.pool.Stat()
	return PoolStats{
		Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Constructing: st.ConstructingConns(), Max: st.MaxConns(),
		Acquires: st.AcquireCount(), EmptyAcquires: st.EmptyAcquireCount(), EmptyAcquireWait: st.EmptyAcquireWaitTime(),
		CanceledAcquires: st.CanceledAcquireCount(), NewConns: st.NewConnsCount(),
	}
}
