package testsignal

import "testing"

func TestSignalDoesNothingUntilInit(t *testing.T) {
	t.Parallel()
	var unarmed *Signal[int]
	unarmed.Signal(1) // neither blocks nor panics
	var s Signal[int]
	s.Signal(1)
	s.Init()
	go s.Signal(2)
	if v := s.WaitOrTimeout(t); v != 2 {
		t.Fatalf("got %d, want 2", v)
	}
}
