package media

import "sync"

// slots counts each account's uploads in flight on this instance, so that
// one account cannot hold an unbounded share of the server's connections,
// goroutines and temporary files.
type slots struct {
	limit int // 0: no limit

	mu       sync.Mutex
	inFlight map[string]int // only accounts with uploads in flight
}

func newSlots(limit int) *slots {
	return &slots{limit: limit, inFlight: make(map[string]int)}
}

// acquire takes a slot for account, or reports false when it has limit
// uploads in flight already. A true return must be paired with release.
func (s *slots) acquire(account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit > 0 && s.inFlight[account] >= s.limit {
		return false
	}
	s.inFlight[account]++
	return true
}

func (s *slots) release(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[account] <= 1 {
		delete(s.inFlight, account)
		return
	}
	s.inFlight[account]--
}
