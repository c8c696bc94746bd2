package messages

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/internal/store"
	"tim/internal/testdb"
)

// listFixture is an account, "me", with 1,000 direct conversations (every
// tenth with a former friend) of 30 messages each, a quarter of them its
// own, and 500 groups of six members with 100 messages each, a tenth its
// own; it has read two thirds of the direct conversations up to 20 and
// half of the groups up to 60. Around it, 2,010 other accounts hold 20,000
// direct conversations of 5 messages. Half of me's peers sort before it
// (me is user_b of those conversations), half after.
const listFixture = `
INSERT INTO users (account, username, password_hash, sex, age)
SELECT 'me', 'me', 'x', 'male', 20
UNION ALL
SELECT CASE WHEN i <= 500 THEN 'a' ELSE 'p' END || lpad(i::text, 4, '0'), 'peer ' || i, 'x', 'female', 30
FROM generate_series(1, 1000) i
UNION ALL
SELECT 'n' || lpad(i::text, 5, '0'), 'noise ' || i, 'x', 'male', 40 FROM generate_series(1, 2010) i;

CREATE TEMP TABLE peer AS
SELECT i, CASE WHEN i <= 500 THEN 'a' ELSE 'p' END || lpad(i::text, 4, '0') AS account FROM generate_series(1, 1000) i;

INSERT INTO friendships (account, friend)
SELECT 'me', account FROM peer WHERE i % 10 <> 0
UNION ALL
SELECT account, 'me' FROM peer WHERE i % 10 <> 0;

INSERT INTO conversations (key, user_a, user_b, last_seq, updated_at)
SELECT 'd:' || least('me', account) || ':' || greatest('me', account), least('me', account), greatest('me', account),
       30, now() - make_interval(mins => 2 * i)
FROM peer;

INSERT INTO messages (conv, seq, sender, recipient, kind, body, created_at)
SELECT 'd:' || least('me', p.account) || ':' || greatest('me', p.account), s,
       CASE WHEN s % 4 = 0 THEN 'me' ELSE p.account END, CASE WHEN s % 4 = 0 THEN p.account ELSE 'me' END,
       'text', 'message ' || s, now() - make_interval(mins => 2 * p.i, secs => 30 - s)
FROM peer p, generate_series(1, 30) s;

INSERT INTO groups (id, name, owner, member_count)
SELECT g, 'group ' || g, 'me', 6 FROM generate_series(1, 500) g;

INSERT INTO group_members (group_id, account)
SELECT g, 'me' FROM generate_series(1, 500) g
UNION ALL
SELECT g, p.account FROM generate_series(1, 500) g, generate_series(1, 5) k JOIN peer p ON true
WHERE p.i = (g * 7 + k) % 1000 + 1;

INSERT INTO conversations (key, group_id, last_seq, updated_at)
SELECT 'g:' || g, g, 100, now() - make_interval(mins => 2 * g + 1) FROM generate_series(1, 500) g;

INSERT INTO messages (conv, seq, sender, group_id, kind, body, created_at)
SELECT 'g:' || g, s, CASE WHEN s % 10 = 0 THEN 'me' ELSE p.account END, g, 'text', 'group message ' || s,
       now() - make_interval(mins => 2 * g + 1, secs => 100 - s)
FROM generate_series(1, 500) g, generate_series(1, 100) s JOIN peer p ON true
WHERE p.i = (g * 7 + s % 5 + 1) % 1000 + 1;

INSERT INTO read_cursors (account, conv, read_seq)
SELECT 'me', 'd:' || least('me', account) || ':' || greatest('me', account), 20 FROM peer WHERE i % 3 <> 0
UNION ALL
SELECT account, 'd:' || least('me', account) || ':' || greatest('me', account), 30 FROM peer WHERE i % 2 = 0
UNION ALL
SELECT 'me', 'g:' || g, 60 FROM generate_series(2, 500, 2) g;

CREATE TEMP TABLE noise AS
SELECT 'n' || lpad(((j - 1) / 10 + 1)::text, 5, '0') AS a,
       'n' || lpad(((j - 1) / 10 + 1 + (j - 1) % 10 + 1)::text, 5, '0') AS b, j
FROM generate_series(1, 20000) j;

INSERT INTO conversations (key, user_a, user_b, last_seq, updated_at)
SELECT 'd:' || a || ':' || b, a, b, 5, now() - make_interval(secs => j) FROM noise;

INSERT INTO messages (conv, seq, sender, recipient, kind, body)
SELECT 'd:' || a || ':' || b, s, CASE WHEN s % 2 = 0 THEN a ELSE b END, CASE WHEN s % 2 = 0 THEN b ELSE a END, 'text', 'noise'
FROM noise, generate_series(1, 5) s;

ANALYZE;
`

// BenchmarkConversationList reads the list of an account with 1,000 direct
// conversations and 500 groups: the first page of the default size, and
// every page of 50 in turn. It reports the p50 and p99 of one query, and
// the CPU time the PostgreSQL backend spent per query, which does not
// count the time it waited for a core on a busy machine.
//
//	go test -run x -bench ConversationList -benchtime 2000x ./internal/messages/
func BenchmarkConversationList(b *testing.B) {
	ctx := context.Background()
	url := testdb.New(b)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	start := time.Now()
	if _, err := pool.Exec(ctx, listFixture); err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture built in %v", time.Since(start).Round(time.Millisecond))
	// The queries measured go through one connection, so one backend,
	// found by its application name once it is open.
	one, err := store.Open(ctx, withParam(url, "application_name", "bench-conversation-list"), 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(one.Close)
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'bench-conversation-list'`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	st := convStore{q: one}

	first, err := st.listConversations(ctx, "me", nil, conversationsDefaultLimit)
	if err != nil {
		b.Fatal(err)
	}
	if len(first) != conversationsDefaultLimit || first[0].conv != "d:a0001:me" || first[1].groupID != 1 {
		b.Fatalf("first page starts %+v, %+v", first[0], first[1])
	}
	// a0001: read up to 20 of 30, 24 and 28 its own; peer read all.
	if c := first[0]; c.unread != 8 || c.readSeq != 20 || c.peerReadSeq != 0 || c.last == nil || c.last.Seq != 30 {
		b.Fatalf("first conversation %+v", c)
	}
	// group 1: never read; 10 of its 100 messages are me's.
	if c := first[1]; c.unread != 90 || c.readSeq != 0 || c.name != "group 1" {
		b.Fatalf("first group %+v", c)
	}

	measure := func(b *testing.B, query func(i int) error) {
		b.Helper()
		var took []time.Duration
		cpu0, cpuErr := processCPU(backend)
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			if err := query(i); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(t0))
		}
		b.StopTimer()
		if cpu1, err := processCPU(backend); err == nil && cpuErr == nil {
			b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1000/float64(len(took)), "pg-cpu-ms/op")
		}
		slices.Sort(took)
		at := func(q float64) float64 {
			return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
		}
		b.ReportMetric(at(0.50), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
	}
	b.Run("first-page", func(b *testing.B) {
		measure(b, func(int) error {
			_, err := st.listConversations(ctx, "me", nil, conversationsDefaultLimit)
			return err
		})
	})
	b.Run("every-page", func(b *testing.B) {
		var after *pageCursor
		total := 0
		measure(b, func(int) error {
			rows, err := st.listConversations(ctx, "me", after, conversationsDefaultLimit)
			if err != nil {
				return err
			}
			total += len(rows)
			if len(rows) < conversationsDefaultLimit {
				if total != 1500 {
					b.Fatalf("walked %d conversations, want 1500", total)
				}
				after, total = nil, 0
				return nil
			}
			last := rows[len(rows)-1]
			after = &pageCursor{at: last.activity, conv: last.conv}
			return nil
		})
	})
}

// processCPU is the user and system CPU time process pid used so far, from
// /proc (the server runs on this machine in tests).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read process stat: %w", err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks of 1/100 s.
	_, rest, ok := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("process stat %q: too short", raw)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// withParam adds the connection parameter key=value to a database URL.
func withParam(url, key, value string) string {
	if strings.Contains(url, "?") {
		return url + "&" + key + "=" + value
	}
	return url + "?" + key + "=" + value
}
