package sniff_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"testing"

	"tim/internal/sniff"
	"tim/internal/sniff/snifftestdata"
)

type sizeCase struct {
	name string
	data []byte
	w, h int
	ok   bool
}

func sizeCases(t testing.TB) []sizeCase {
	var wide bytes.Buffer
	if err := png.Encode(&wide, image.NewGray(image.Rect(0, 0, 300, 7))); err != nil {
		t.Fatal(err)
	}
	topDown := snifftestdata.BMP()
	binary.LittleEndian.PutUint32(topDown[22:], uint32(0xFFFFFFFE)) // height -2: rows top to bottom
	return []sizeCase{
		{"png", snifftestdata.PNG(), 8, 8, true},
		{"png wide", wide.Bytes(), 300, 7, true},
		{"jpeg", snifftestdata.JPEG(), 16, 16, true},
		{"bmp", snifftestdata.BMP(), 3, 2, true},
		{"bmp top-down", topDown, 3, 2, true},
		{"bmp core header", bmpCore(), 2, 1, true},
		// A camera picture: the frame header lies past 40 KB of Exif.
		{"jpeg exif upright", snifftestdata.JPEGWithExif(40, 24, 1, 40000), 40, 24, true},
		{"jpeg exif turned", snifftestdata.JPEGWithExif(40, 24, 6, 40000), 24, 40, true},
		{"jpeg exif mirrored turned", snifftestdata.JPEGWithExif(40, 24, 5, 10), 24, 40, true},
		{"jpeg exif upside down", snifftestdata.JPEGWithExif(40, 24, 3, 10), 40, 24, true},
		{"jpeg cut before frame header", snifftestdata.JPEGWithExif(40, 24, 1, 40000)[:30000], 0, 0, false},
		{"mp3", snifftestdata.MP3(3), 0, 0, false},
		{"mp4", snifftestdata.MP4(2000), 0, 0, false},
		{"png truncated", snifftestdata.PNG()[:20], 0, 0, false},
		{"jpeg scan before frame", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 1, 2, 3}, 0, 0, false},
		{"jpeg zero width", []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 4, 0, 0, 1, 1, 0x11, 0}, 0, 0, false},
		{"jpeg short segment length", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 0, 0}, 0, 0, false},
		{"jpeg garbage after soi", []byte{0xFF, 0xD8, 0x12, 0x34}, 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
}

// TestImageSize: dimensions of every image format, as shown (Exif
// orientation applied), whether the content arrives whole or a byte at a
// time; nothing for other content or for content cut before the
// dimensions.
func TestImageSize(t *testing.T) {
	t.Parallel()
	for _, tc := range sizeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, h, ok := sniff.ImageSize(tc.data)
			if w != tc.w || h != tc.h || ok != tc.ok {
				t.Fatalf("ImageSize = %d, %d, %v; want %d, %d, %v", w, h, ok, tc.w, tc.h, tc.ok)
			}
			var z sniff.ImageSizer
			for i := range tc.data {
				if n, err := z.Write(tc.data[i : i+1]); n != 1 || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if w, h, ok := z.Size(); w != tc.w || h != tc.h || ok != tc.ok {
				t.Fatalf("byte by byte: Size = %d, %d, %v; want %d, %d, %v", w, h, ok, tc.w, tc.h, tc.ok)
			}
		})
	}
}

// FuzzImageSize checks that no content crashes the sizer, that a result is
// positive, and that cutting the content into two writes anywhere changes
// nothing.
func FuzzImageSize(f *testing.F) {
	for _, tc := range sizeCases(f) {
		f.Add(tc.data[:min(len(tc.data), 2000)], uint16(len(tc.data)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		w, h, ok := sniff.ImageSize(data)
		if ok != (w > 0 && h > 0) {
			t.Fatalf("ImageSize = %d, %d, %v", w, h, ok)
		}
		at := min(int(cut), len(data))
		var z sniff.ImageSizer
		_, _ = z.Write(data[:at])
		_, _ = z.Write(data[at:])
		if w2, h2, ok2 := z.Size(); w2 != w || h2 != h || ok2 != ok {
			t.Fatalf("in two writes cut at %d: %d, %d, %v; whole: %d, %d, %v", at, w2, h2, ok2, w, h, ok)
		}
	})
}
