package main

import (
	"testing"
)

// step is one event of a ledger test: an ack to the sender, or a message
// arriving on connection conn (numbered from 0 in order of appearance).
type step struct {
	ack  bool
	conn int
	conv convKey
	seq  int64
}

var (
	convA = convKey{recipient: "r1", peer: "s1"}
	convB = convKey{recipient: "r2", peer: "s2"}
)

func acks(k convKey, seqs ...int64) []step {
	var s []step
	for _, q := range seqs {
		s = append(s, step{ack: true, conv: k, seq: q})
	}
	return s
}

func recv(conn int, k convKey, seqs ...int64) []step {
	var s []step
	for _, q := range seqs {
		s = append(s, step{conn: conn, conv: k, seq: q})
	}
	return s
}

func steps(parts ...[]step) []step {
	var s []step
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

func TestLedgerAccounting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []step
		want  tally
	}{
		{
			name:  "everything once",
			steps: steps(acks(convA, 1, 2, 3), recv(0, convA, 1, 2, 3)),
			want:  tally{conns: 1, acked: 3, received: 3},
		},
		{
			name:  "replayed after a reconnect",
			steps: steps(acks(convA, 1, 2, 3, 4, 5), recv(0, convA, 1, 2, 3), recv(1, convA, 3, 4, 5)),
			want:  tally{conns: 2, acked: 5, received: 5, repeated: 1},
		},
		{
			name:  "acked but never received",
			steps: steps(acks(convA, 1, 2, 3, 4), recv(0, convA, 1, 2)),
			want:  tally{conns: 1, acked: 4, received: 2, lost: 2},
		},
		{
			name:  "received before the sender's ack",
			steps: steps(recv(0, convA, 1, 2), acks(convA, 1, 2)),
			want:  tally{conns: 1, acked: 2, received: 2},
		},
		{
			name:  "twice on one connection",
			steps: steps(acks(convA, 1, 2), recv(0, convA, 1, 2, 2)),
			want:  tally{conns: 1, acked: 2, received: 2, dups: 1},
		},
		{
			name:  "skipped, then older on one connection",
			steps: steps(acks(convA, 1, 2, 3), recv(0, convA, 1, 3, 2)),
			want:  tally{conns: 1, acked: 3, received: 3, gaps: 1, disorder: 1},
		},
		{
			name:  "a connection may start past the first seq",
			steps: steps(acks(convA, 1, 2, 3, 4), recv(0, convA, 1, 2), recv(1, convA, 3, 4)),
			want:  tally{conns: 2, acked: 4, received: 4},
		},
		{
			name:  "committed but the ack never came",
			steps: steps(acks(convA, 1), recv(0, convA, 1, 2)),
			want:  tally{conns: 1, acked: 1, received: 2, beyondAcked: 1},
		},
		{
			name:  "conversations are checked apart",
			steps: steps(acks(convA, 1, 2), acks(convB, 1), recv(0, convA, 1), recv(0, convB, 1), recv(0, convA, 2)),
			want:  tally{conns: 1, acked: 3, received: 3},
		},
		{
			name:  "a conversation nobody expected",
			steps: steps(recv(0, convKey{recipient: "r9", peer: "s9"}, 1), acks(convKey{recipient: "r9", peer: "s9"}, 1)),
			want:  tally{stray: 2, conns: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lg := newLedger()
			lg.expect(convA, "c")
			lg.expect(convB, "c")
			var conns []*connTally
			for _, s := range tc.steps {
				if s.ack {
					lg.acked(s.conv, s.seq)
					continue
				}
				for len(conns) <= s.conn {
					conns = append(conns, lg.connection("c"))
				}
				conns[s.conn].received(s.conv, s.seq)
			}
			_, got := lg.summary()
			want := tc.want
			want.class, want.convs = "all", 2 // convA and convB
			if got != want {
				t.Errorf("tally\n got %#v\nwant %#v", got, want)
			}
			if got.ok() != (want.lost == 0 && want.disorder == 0 && want.dups == 0 && want.gaps == 0 && want.stray == 0) {
				t.Errorf("ok() = %v for %#v", got.ok(), got)
			}
		})
	}
}

func TestLedgerMissingAndContiguous(t *testing.T) {
	t.Parallel()
	lg := newLedger()
	lg.expect(convA, "c")
	for _, q := range []int64{1, 2, 3, 4} {
		lg.acked(convA, q)
	}
	c := lg.connection("c")
	for _, tc := range []struct {
		seq        int64
		missing    int
		contiguous int64
	}{
		{1, 3, 1},
		{2, 2, 2},
		{4, 1, 2}, // 3 is still missing: an ack may not pass it
		{3, 0, 4},
		{3, 0, 4}, // again: nothing changes
	} {
		if got := c.received(convA, tc.seq); got != tc.missing {
			t.Errorf("after seq %d: received returned %d missing, want %d", tc.seq, got, tc.missing)
		}
		if got := lg.missing(convA); got != tc.missing {
			t.Errorf("after seq %d: missing %d, want %d", tc.seq, got, tc.missing)
		}
		if got := lg.contiguous(convA); got != tc.contiguous {
			t.Errorf("after seq %d: contiguous %d, want %d", tc.seq, got, tc.contiguous)
		}
	}
}

func TestLedgerSummaryByClass(t *testing.T) {
	t.Parallel()
	lg := newLedger()
	lg.expect(convA, "stall/no-ack")
	lg.expect(convB, "normal/ack")
	lg.acked(convA, 1)
	lg.acked(convA, 2)
	lg.acked(convB, 1)
	lg.connection("stall/no-ack").received(convA, 1)
	lg.connection("stall/no-ack")
	lg.connection("normal/ack").received(convB, 1)
	byClass, total := lg.summary()
	want := []tally{
		{class: "normal/ack", convs: 1, conns: 1, acked: 1, received: 1},
		{class: "stall/no-ack", convs: 1, conns: 2, acked: 2, received: 1, lost: 1},
	}
	if len(byClass) != len(want) {
		t.Fatalf("classes %#v, want %#v", byClass, want)
	}
	for i := range want {
		if byClass[i] != want[i] {
			t.Errorf("class %d\n got %#v\nwant %#v", i, byClass[i], want[i])
		}
	}
	if wantTotal := (tally{class: "all", convs: 2, conns: 3, acked: 3, received: 2, lost: 1}); total != wantTotal {
		t.Errorf("total\n got %#v\nwant %#v", total, wantTotal)
	}
	if total.ok() {
		t.Error("a lost message must fail the check")
	}
}

func TestLedgerMissingForRecipient(t *testing.T) {
	t.Parallel()
	lg := newLedger()
	other := convKey{recipient: convA.recipient, peer: "s9"}
	for _, k := range []convKey{convA, other, convB} {
		lg.expect(k, "c")
		lg.acked(k, 1)
		lg.acked(k, 2)
	}
	c := lg.connection("c")
	c.received(convA, 1)
	c.received(other, 2)
	if got := lg.missingFor(convA.recipient); got != 2 {
		t.Fatalf("missingFor %s = %d, want 2 (one in each of its conversations)", convA.recipient, got)
	}
	c.received(convA, 2)
	c.received(other, 1)
	if got := lg.missingFor(convA.recipient); got != 0 {
		t.Fatalf("missingFor %s = %d after everything arrived, want 0", convA.recipient, got)
	}
	if got := lg.missingFor(convB.recipient); got != 2 {
		t.Fatalf("missingFor %s = %d, want 2", convB.recipient, got)
	}
}
