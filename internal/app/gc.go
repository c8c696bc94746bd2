package app

import "runtime/debug"

// gcPercent is the garbage collector's target that Tim runs with unless
// the GOGC environment variable sets one. Go's default, 100, collects as
// soon as the heap doubles, and a server handling a stream of short-lived
// frames spends a noticeable share of its CPU there. 200 trades some
// memory for that CPU; README's figures give both sides (400 would take
// idle connections past their memory target).
const gcPercent = 200

// tuneGC sets the collector's target to gcPercent unless GOGC is set, and
// returns the target in effect.
func tuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		// The runtime read GOGC at start; SetGCPercent only reports it.
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(gcPercent)
	return gcPercent
}
