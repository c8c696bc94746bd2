package realtime

import (
	"context"
	"fmt"
	"sync"

	"tim/internal/store"
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
func (b *cursorBook) flush(ctx context.Context, q *store.Store) error {
	b.mu.Lock()
	if len(b.dirty) == 0 {
		b.mu.Unlock()
		return nil
	}
	snap := make(map[cursorKey]int64, len(b.dirty))
	cursors := make([]store.Cursor, 0, len(b.dirty))
	for k, v := range b.dirty {
		snap[k] = v
		cursors = append(cursors, store.Cursor{Account: k.account, Conv: k.conv, Seq: v})
	}
	b.mu.Unlock()
	if err := q.DeliveryCursorUpsertBatch(ctx, cursors); err != nil {
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
