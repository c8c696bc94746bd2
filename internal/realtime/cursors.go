package realtime

import (
	"context"
	"fmt"
	"sync"

	"tim/gen/db"
)

type cursorKey struct{ account, conv string }

// cursorBook collects cursor advances in memory; flush writes them in one
// statement, so delivery never costs a database write per frame.
type cursorBook struct {
	mu    sync.Mutex
	dirty map[cursorKey]int64
}

func newCursorBook() *cursorBook { return &cursorBook{dirty: map[cursorKey]int64{}} }

func (b *cursorBook) advance(account, conv string, seq int64) {
	k := cursorKey{account, conv}
	b.mu.Lock()
	if seq > b.dirty[k] {
		b.dirty[k] = seq
	}
	b.mu.Unlock()
}

// pending returns the unflushed cursor of account in conv, 0 when none.
func (b *cursorBook) pending(account, conv string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dirty[cursorKey{account, conv}]
}

// flush writes the dirty cursors. An entry is forgotten only once written
// and unchanged meanwhile, so pending never misses an advance.
func (b *cursorBook) flush(ctx context.Context, q *db.Queries) error {
	b.mu.Lock()
	if len(b.dirty) == 0 {
		b.mu.Unlock()
		return nil
	}
	snap := make(map[cursorKey]int64, len(b.dirty))
	arg := db.DeliveryCursorUpsertBatchParams{}
	for k, v := range b.dirty {
		snap[k] = v
		arg.Accounts = append(arg.Accounts, k.account)
		arg.Convs = append(arg.Convs, k.conv)
		arg.Seqs = append(arg.Seqs, v)
	}
	b.mu.Unlock()
	if err := q.DeliveryCursorUpsertBatch(ctx, arg); err != nil {
		return fmt.Errorf("write delivery cursors: %w", err)
	}
	b.mu.Lock()
	for k, v := range snap {
		if b.dirty[k] == v {
			delete(b.dirty, k)
		}
	}
	b.mu.Unlock()
	return nil
}
