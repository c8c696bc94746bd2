package sniff_test

import (
	"testing"

	"tim/internal/sniff"
)

// FuzzDetect checks that Detect never panics, that it reports a type and an
// extension together or neither, that whatever it reports is allowed for
// some kind, and that it ignores bytes past HeadSize.
//
// Run it with a short minimisation budget, for example
//
//	go test -run x -fuzz FuzzDetect -fuzztime 1m -fuzzminimizetime 2s ./internal/sniff/
//
// With the default budget (60s) the fuzzer spends long stretches minimising
// each new interesting input while reporting 0 execs/sec (golang/go#48820).
func FuzzDetect(f *testing.F) {
	// Seeds are cut to seedSize bytes, which still holds two MP3 frames of
	// the largest size or an ftyp box of the largest accepted size plus the
	// next box header. Short inputs keep minimisation fast.
	const seedSize = 1600
	for _, tc := range append(validCases(), liarCases()...) {
		f.Add(tc.head[:min(len(tc.head), seedSize)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, ext := sniff.Detect(data)
		if (typ == "") != (ext == "") {
			t.Fatalf("Detect() = %q, %q: type and extension disagree", typ, ext)
		}
		if typ != "" && !sniff.Allowed(sniff.Image, typ) && !sniff.Allowed(sniff.Audio, typ) && !sniff.Allowed(sniff.Video, typ) {
			t.Fatalf("Detect() = %q, which no kind allows", typ)
		}
		if len(data) > sniff.HeadSize {
			if typ2, ext2 := sniff.Detect(data[:sniff.HeadSize]); typ2 != typ || ext2 != ext {
				t.Fatalf("Detect(head) = %q, %q; Detect(all) = %q, %q", typ2, ext2, typ, ext)
			}
		}
	})
}
