package sniff_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"tim/internal/sniff"
	"tim/internal/sniff/snifftestdata"
)

// detectCase is one input for Detect and the type it should report; an
// empty want means "not a supported format".
type detectCase struct {
	name string
	head []byte
	want string
}

func TestDetect(t *testing.T) {
	t.Parallel()

	cases := append(validCases(), liarCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gotType, gotExt := sniff.Detect(tc.head)
			if gotType != tc.want {
				t.Fatalf("Detect() type = %q, want %q", gotType, tc.want)
			}
			if wantExt := extFor[tc.want]; gotExt != wantExt {
				t.Fatalf("Detect() ext = %q, want %q", gotExt, wantExt)
			}
		})
	}
}

// extFor maps each content type to the extension Detect pairs it with.
var extFor = map[string]string{
	"":             "",
	sniff.TypeJPEG: ".jpg",
	sniff.TypePNG:  ".png",
	sniff.TypeBMP:  ".bmp",
	sniff.TypeMP3:  ".mp3",
	sniff.TypeMP4:  ".mp4",
}

// validCases are real or hand-built files of every supported format.
func validCases() []detectCase {
	return []detectCase{
		{"png", snifftestdata.PNG(), sniff.TypePNG},
		{"jpeg", snifftestdata.JPEG(), sniff.TypeJPEG},
		{"bmp info header", snifftestdata.BMP(), sniff.TypeBMP},
		{"bmp core header", bmpCore(), sniff.TypeBMP},
		{"bmp v5 header", bmpWith(func(b []byte) []byte {
			// Fields past the first 40 bytes of the header stay zero.
			pixels := b[14+40:]
			b = append(b[:14+40:14+40], make([]byte, 124-40)...)
			b = append(b, pixels...)
			binary.LittleEndian.PutUint32(b[2:], uint32(len(b)))
			binary.LittleEndian.PutUint32(b[10:], 14+124)
			binary.LittleEndian.PutUint32(b[14:], 124)
			return b
		}), sniff.TypeBMP},
		{"bmp zero file size", bmpWith(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[2:], 0)
			return b
		}), sniff.TypeBMP},

		{"mp3 one frame", snifftestdata.MP3(1), sniff.TypeMP3},
		{"mp3 two frames", snifftestdata.MP3(2), sniff.TypeMP3},
		{"mp3 beyond head size", snifftestdata.MP3(50), sniff.TypeMP3},
		{"mp3 header only, rest beyond head", snifftestdata.MP3(1)[:4], sniff.TypeMP3},
		{"mp3 padded frame", frames([4]byte{0xFF, 0xFB, 0x92, 0x00}, 418, 3), sniff.TypeMP3},
		{"mp3 with crc", frames([4]byte{0xFF, 0xFA, 0x90, 0x00}, 417, 3), sniff.TypeMP3},
		{"mp3 mpeg2 22.05kHz 64kbit/s", frames([4]byte{0xFF, 0xF3, 0x80, 0xC4}, 208, 3), sniff.TypeMP3},
		{"mp3 mpeg2.5 11.025kHz 64kbit/s", frames([4]byte{0xFF, 0xE3, 0x80, 0x00}, 417, 3), sniff.TypeMP3},
		{"mp3 mpeg1 320kbit/s 32kHz", frames([4]byte{0xFF, 0xFB, 0xE8, 0x00}, 1440, 3), sniff.TypeMP3},
		{"mp3 one frame then id3v1", append(snifftestdata.MP3(1), "TAGtitle"...), sniff.TypeMP3},
		{"mp3 with id3v2.4", snifftestdata.MP3WithID3(), sniff.TypeMP3},
		{"mp3 id3v2.3 with zero padding after tag", id3(3, 0, 20, append(make([]byte, 100), snifftestdata.MP3(2)...)), sniff.TypeMP3},
		{"mp3 id3v2.4 footer", id3(4, 0x10, 20, append(make([]byte, 10), snifftestdata.MP3(2)...)), sniff.TypeMP3},
		{"mp3 id3 tag longer than head", id3(3, 0, 100_000, make([]byte, sniff.HeadSize)), sniff.TypeMP3},
		{"mp3 id3 header only", id3(4, 0, 500, nil), sniff.TypeMP3},

		{"mp4 minimal", snifftestdata.MP4(0), sniff.TypeMP4},
		{"mp4 1 MiB", snifftestdata.MP4(1 << 20), sniff.TypeMP4},
		{"mp4 ftyp only", snifftestdata.MP4(0)[:32], sniff.TypeMP4},
		{"mp4 brand mp42", mp4Brand("mp42"), sniff.TypeMP4},
		{"mp4 brand M4V", mp4Brand("M4V "), sniff.TypeMP4},
		{"mp4 brand dash", mp4Brand("dash"), sniff.TypeMP4},
		{"mp4 brand iso6", mp4Brand("iso6"), sniff.TypeMP4},
		{"mp4 brand avc1", mp4Brand("avc1"), sniff.TypeMP4},
	}
}

// liarCases must not be detected as the format they imitate, or at all.
func liarCases() []detectCase {
	mp3 := snifftestdata.MP3(3)
	mp4 := snifftestdata.MP4(0)
	return []detectCase{
		{"nil", nil, ""},
		{"empty", []byte{}, ""},
		{"text", []byte("hello, world\n"), ""},
		{"html", []byte("<!DOCTYPE html><html><body>hi</body></html>"), ""},
		{"json", []byte(`{"type":"image/png"}`), ""},
		{"png is not mp3", snifftestdata.PNG(), sniff.TypePNG},
		{"zeros", make([]byte, sniff.HeadSize), ""},
		{"0xff", bytes.Repeat([]byte{0xFF}, sniff.HeadSize), ""},

		{"png truncated", snifftestdata.PNG()[:7], ""},
		{"png wrong signature", append([]byte("\x89PNG\r\n\x1a\x00"), snifftestdata.PNG()[8:]...), ""},
		{"jpeg truncated", snifftestdata.JPEG()[:2], ""},
		{"bmp truncated file header", snifftestdata.BMP()[:17], ""},
		{"bmp truncated info header", snifftestdata.BMP()[:28], ""},
		{"bmp text", []byte("BMW makes cars, and this is plain text."), ""},
		{"bmp unknown dib size", bmpWith(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[14:], 20)
			return b
		}), ""},
		{"bmp pixels inside header", bmpWith(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[10:], 40)
			return b
		}), ""},
		{"bmp file size too small", bmpWith(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[2:], 30)
			return b
		}), ""},
		{"bmp two planes", bmpWith(func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[26:], 2)
			return b
		}), ""},
		{"bmp 7 bits per pixel", bmpWith(func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[28:], 7)
			return b
		}), ""},

		{"mp3 truncated header", mp3[:3], ""},
		{"mp3 layer I", frames([4]byte{0xFF, 0xFF, 0x90, 0x00}, 417, 3), ""},
		{"mp3 layer II", frames([4]byte{0xFF, 0xFD, 0x90, 0x00}, 417, 3), ""},
		{"mp3 reserved version", frames([4]byte{0xFF, 0xEB, 0x90, 0x00}, 417, 3), ""},
		{"mp3 free format bitrate", frames([4]byte{0xFF, 0xFB, 0x00, 0x00}, 417, 3), ""},
		{"mp3 bad bitrate", frames([4]byte{0xFF, 0xFB, 0xF0, 0x00}, 417, 3), ""},
		{"mp3 reserved sample rate", frames([4]byte{0xFF, 0xFB, 0x9C, 0x00}, 417, 3), ""},
		{"mp3 reserved emphasis", frames([4]byte{0xFF, 0xFB, 0x90, 0x02}, 417, 3), ""},
		{"mp3 header then text", append(append([]byte{}, mp3[:4]...), bytes.Repeat([]byte("lorem ipsum "), 100)...), ""},
		{"mp3 second frame misplaced", frames([4]byte{0xFF, 0xFB, 0x90, 0x00}, 416, 3), ""},
		{"mp3 second frame other sample rate", func() []byte {
			b := snifftestdata.MP3(2)
			b[417+2] = 0x94 // 48 kHz
			return b
		}(), ""},
		{"mp3 second frame other version", func() []byte {
			b := snifftestdata.MP3(2)
			b[417+1] = 0xF3 // MPEG 2
			return b
		}(), ""},
		{"id3 truncated header", snifftestdata.MP3WithID3()[:9], ""},
		{"id3 version 5", id3(5, 0, 20, mp3), ""},
		{"id3 version 1", id3(1, 0, 20, mp3), ""},
		{"id3 revision ff", func() []byte {
			b := id3(4, 0, 20, mp3)
			b[4] = 0xFF
			return b
		}(), ""},
		{"id3v2.3 footer flag", id3(3, 0x10, 20, mp3), ""},
		{"id3 size not syncsafe", func() []byte {
			b := id3(4, 0, 20, mp3)
			b[9] |= 0x80
			return b
		}(), ""},
		{"id3 then flac", id3(4, 0, 20, []byte("fLaC\x00\x00\x00\x22 more flac")), ""},
		{"id3 then text", id3(3, 0, 20, []byte("this is not audio")), ""},

		{"mp4 truncated", mp4[:12], ""},
		{"mp4 brand qt", mp4Brand("qt  "), ""},
		{"mp4 brand M4A", mp4Brand("M4A "), ""},
		{"mp4 brand 3gp4", mp4Brand("3gp4"), ""},
		{"mp4 unknown brand", mp4Brand("abcd"), ""},
		{"mp4 ftyp size 7", mp4Size(7), ""},
		{"mp4 ftyp size 15", mp4Size(15), ""},
		{"mp4 ftyp size unaligned", mp4Size(30), ""},
		{"mp4 ftyp size huge", mp4Size(1 << 30), ""},
		{"mp4 ftyp size 0", mp4Size(0), ""},
		{"mp4 garbage after ftyp", append(append([]byte{}, mp4[:32]...), "\x00\x00\x00\x10\x01\x02\x03\x04"...), ""},
		{"mp4 box size 5 after ftyp", append(append([]byte{}, mp4[:32]...), "\x00\x00\x00\x05moov"...), ""},
		{"mp4 ftyp at wrong offset", append([]byte{0}, mp4...), ""},
	}
}

// bmpCore returns a 2×1, 24-bit BMP with a 12-byte BITMAPCOREHEADER.
func bmpCore() []byte {
	const headers = 14 + 12
	b := make([]byte, headers+8)
	le := binary.LittleEndian
	copy(b, "BM")
	le.PutUint32(b[2:], uint32(len(b)))
	le.PutUint32(b[10:], headers)
	le.PutUint32(b[14:], 12)
	le.PutUint16(b[18:], 2)  // width
	le.PutUint16(b[20:], 1)  // height
	le.PutUint16(b[22:], 1)  // planes
	le.PutUint16(b[24:], 24) // bits per pixel
	return b
}

// bmpWith returns the test BMP changed by edit.
func bmpWith(edit func([]byte) []byte) []byte {
	return edit(snifftestdata.BMP())
}

// frames returns n frames of the given length, each starting with header.
func frames(header [4]byte, length, n int) []byte {
	b := make([]byte, length*n)
	for i := range n {
		copy(b[i*length:], header[:])
	}
	return b
}

// id3 returns an ID3v2 tag of the given version and flags with a zeroed
// body of size bytes (the size field says so too), followed by rest.
func id3(version, flags byte, size int, rest []byte) []byte {
	b := []byte{'I', 'D', '3', version, 0, flags,
		byte(size>>21) & 0x7F, byte(size>>14) & 0x7F, byte(size>>7) & 0x7F, byte(size) & 0x7F}
	b = append(b, make([]byte, min(size, sniff.HeadSize))...)
	return append(b, rest...)
}

// mp4Brand returns the test MP4 with another major brand.
func mp4Brand(brand string) []byte {
	b := snifftestdata.MP4(0)
	copy(b[8:12], brand)
	return b
}

// mp4Size returns the test MP4 with another ftyp box size.
func mp4Size(size uint32) []byte {
	b := snifftestdata.MP4(0)
	binary.BigEndian.PutUint32(b, size)
	return b
}

func TestDetectRandom(t *testing.T) {
	t.Parallel()

	rng := rand.New(rand.NewChaCha8([32]byte{'t', 'i', 'm'}))
	head := make([]byte, sniff.HeadSize)
	for i := range 2000 {
		for j := range head {
			head[j] = byte(rng.Uint32())
		}
		if typ, ext := sniff.Detect(head); typ != "" || ext != "" {
			t.Fatalf("random head %d detected as %q %q", i, typ, ext)
		}
	}
}

// Detect must look at no more than HeadSize bytes, so a longer input and its
// first HeadSize bytes get the same answer.
func TestDetectIgnoresBytesPastHead(t *testing.T) {
	t.Parallel()

	for _, tc := range validCases() {
		if len(tc.head) <= sniff.HeadSize {
			continue
		}
		gotFull, _ := sniff.Detect(tc.head)
		gotHead, _ := sniff.Detect(tc.head[:sniff.HeadSize])
		if gotFull != gotHead {
			t.Errorf("%s: Detect(all) = %q, Detect(head) = %q", tc.name, gotFull, gotHead)
		}
	}

	// Valid MP3 frames placed just past the head do not count: the head is
	// a lone frame header followed by text.
	b := append([]byte{0xFF, 0xFB, 0x90, 0x00}, bytes.Repeat([]byte{'x'}, sniff.HeadSize-4)...)
	b = append(b, snifftestdata.MP3(2)...)
	if got, _ := sniff.Detect(b); got != "" {
		t.Errorf("Detect(text head + frames) = %q, want none", got)
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()

	cases := []struct {
		kind sniff.Kind
		typ  string
		want bool
	}{
		{sniff.Image, sniff.TypeJPEG, true},
		{sniff.Image, sniff.TypePNG, true},
		{sniff.Image, sniff.TypeBMP, true},
		{sniff.Image, sniff.TypeMP3, false},
		{sniff.Image, sniff.TypeMP4, false},
		{sniff.Image, "image/gif", false},
		{sniff.Image, "", false},
		{sniff.Audio, sniff.TypeMP3, true},
		{sniff.Audio, sniff.TypePNG, false},
		{sniff.Audio, sniff.TypeMP4, false},
		{sniff.Audio, "", false},
		{sniff.Video, sniff.TypeMP4, true},
		{sniff.Video, sniff.TypeMP3, false},
		{sniff.Video, sniff.TypeJPEG, false},
		{sniff.Video, "", false},
		{sniff.Kind("document"), sniff.TypePNG, false},
		{sniff.Kind(""), "", false},
	}
	for _, tc := range cases {
		if got := sniff.Allowed(tc.kind, tc.typ); got != tc.want {
			t.Errorf("Allowed(%q, %q) = %v, want %v", tc.kind, tc.typ, got, tc.want)
		}
	}

	// Every test file is allowed for its own kind only.
	files := []struct {
		kind sniff.Kind
		data []byte
	}{
		{sniff.Image, snifftestdata.PNG()},
		{sniff.Image, snifftestdata.JPEG()},
		{sniff.Image, snifftestdata.BMP()},
		{sniff.Audio, snifftestdata.MP3(2)},
		{sniff.Audio, snifftestdata.MP3WithID3()},
		{sniff.Video, snifftestdata.MP4(4096)},
	}
	for i, f := range files {
		typ, _ := sniff.Detect(f.data)
		for _, kind := range []sniff.Kind{sniff.Image, sniff.Audio, sniff.Video} {
			if got, want := sniff.Allowed(kind, typ), kind == f.kind; got != want {
				t.Errorf("file %d (%s): Allowed(%q) = %v, want %v", i, typ, kind, got, want)
			}
		}
	}
}
