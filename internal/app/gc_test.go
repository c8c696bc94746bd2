package app

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	if got := tuneGC(env(nil)); got != gcPercent {
		t.Fatalf("without GOGC: tuneGC = %d, want %d", got, gcPercent)
	}
	if p := debug.SetGCPercent(gcPercent); p != gcPercent {
		t.Fatalf("without GOGC: the runtime runs at %d, want %d", p, gcPercent)
	}

	// With GOGC set, what the runtime runs at is left alone.
	debug.SetGCPercent(350)
	if got := tuneGC(env(map[string]string{"GOGC": "350"})); got != 350 {
		t.Fatalf("with GOGC=350: tuneGC = %d, want 350", got)
	}
	if p := debug.SetGCPercent(350); p != 350 {
		t.Fatalf("with GOGC=350: the runtime runs at %d, want 350", p)
	}
}
