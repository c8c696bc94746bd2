package store

import "context"

// ExecScript runs sql, which may hold several statements, on the pool: for
// tests that build a database by hand, as an older release left it.
func (s *Store) ExecScript(ctx context.Context, sql string) error {
	_, err := s.pool.Exec(ctx, sql)
	return err
}
