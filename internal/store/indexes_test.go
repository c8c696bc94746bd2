package store_test

import (
	"testing"
)

// TestPruningByAgeHasAnIndex: the janitor deletes old rows by age every
// minute on every instance, so each time column it prunes by leads an
// index. (An index that has the column second does not do: the planner can
// only walk all of it.)
func TestPruningByAgeHasAnIndex(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, url := openURL(t)
	conn := connect(t, url)
	for _, tc := range []struct{ table, column string }{
		{"login_failures", "failed_at"},           // LoginFailureDeleteBefore
		{"registration_attempts", "attempted_at"}, // RegistrationAttemptDeleteBefore
	} {
		var leads bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (
			SELECT 1 FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = $1::regclass AND a.attname = $2)`, tc.table, tc.column).Scan(&leads)
		if err != nil {
			t.Fatal(err)
		}
		if !leads {
			t.Errorf("no index of %s leads with %s", tc.table, tc.column)
		}
	}
}
