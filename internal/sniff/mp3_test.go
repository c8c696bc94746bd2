package sniff

import "testing"

// Frame lengths follow 144 (MPEG 1) or 72 (MPEG 2, 2.5) × bitrate ÷ sample
// rate, plus one byte when the padding bit is set.
func TestParseFrameHeaderLength(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		header []byte
		want   frameHeader
	}{
		{"mpeg1 128k 44.1k", []byte{0xFF, 0xFB, 0x90, 0x00}, frameHeader{mpeg1, 44100, 417}},
		{"mpeg1 128k 44.1k padded", []byte{0xFF, 0xFB, 0x92, 0x00}, frameHeader{mpeg1, 44100, 418}},
		{"mpeg1 320k 48k", []byte{0xFF, 0xFB, 0xE4, 0x00}, frameHeader{mpeg1, 48000, 960}},
		{"mpeg1 32k 32k", []byte{0xFF, 0xFB, 0x18, 0x00}, frameHeader{mpeg1, 32000, 144}},
		{"mpeg2 64k 22.05k", []byte{0xFF, 0xF3, 0x80, 0x00}, frameHeader{mpeg2, 22050, 208}},
		{"mpeg2 160k 16k", []byte{0xFF, 0xF3, 0xE8, 0x00}, frameHeader{mpeg2, 16000, 720}},
		{"mpeg2.5 8k 8k", []byte{0xFF, 0xE3, 0x18, 0x00}, frameHeader{mpeg25, 8000, 72}},
		{"mpeg2.5 160k 8k", []byte{0xFF, 0xE3, 0xE8, 0x00}, frameHeader{mpeg25, 8000, 1440}},
	}
	for _, tc := range cases {
		got, ok := parseFrameHeader(tc.header)
		if !ok || got != tc.want {
			t.Errorf("%s: parseFrameHeader(% x) = %+v, %v; want %+v, true", tc.name, tc.header, got, ok, tc.want)
		}
	}
}
