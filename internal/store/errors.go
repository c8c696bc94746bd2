package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Errors callers test with errors.Is. Every method of this package returns
// them (through interpretError) with the driver's error kept in the chain
// for the logs.
var (
	// ErrNotFound: a query for one row found none.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique or exclusion constraint refused the change.
	ErrConflict = errors.New("conflict")
	// ErrForeignKey: the change refers to a row that does not exist.
	ErrForeignKey = errors.New("foreign key violation")
	// ErrSerialization: the transaction lost a race with another one (a
	// serialization failure or a deadlock); running it again may succeed.
	ErrSerialization = errors.New("serialization failure")
)

// SQLSTATE codes interpretError knows.
const (
	codeUniqueViolation      = "23505"
	codeExclusionViolation   = "23P01"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeQueryCanceled        = "57014" // statement_timeout, or a cancel request
	codeDuplicateDatabase    = "42P04"
)

// interpretError is the one place where driver errors become this
// package's sentinels. A statement the server cancelled (query_canceled:
// its statement_timeout expired) matches context.DeadlineExceeded, so a
// caller that set a server-side deadline sees it as a deadline. Other
// errors pass unchanged.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case codeUniqueViolation, codeExclusionViolation:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case codeForeignKeyViolation:
		return fmt.Errorf("%w: %w", ErrForeignKey, err)
	case codeSerializationFailure, codeDeadlockDetected:
		return fmt.Errorf("%w: %w", ErrSerialization, err)
	case codeQueryCanceled:
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}
