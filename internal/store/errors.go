package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

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
	// ErrUnavailable: the database could not be reached, or the
	// connection broke (see Unavailable).
	ErrUnavailable = errors.New("database unavailable")
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
	codeAdminShutdown        = "57P01" // the server is shutting down
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03" // the server is starting up
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
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
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

// Unavailable reports whether err, returned by this package, means that
// the database could not be reached or went away rather than that it
// refused one statement.
func Unavailable(err error) bool {
	return errors.Is(err, ErrUnavailable)
}

// unreachable reports whether a driver error means that no connection
// could be made, the connection broke, or the server is shutting down or
// starting up.
func unreachable(err error) bool {
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return strings.HasPrefix(pgErr.Code, "08") || // connection exception
			pgErr.Code == codeAdminShutdown || pgErr.Code == codeCrashShutdown || pgErr.Code == codeCannotConnectNow
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
