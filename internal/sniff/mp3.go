package sniff

// MP3 files come in two shapes: an ID3v2 tag followed by MPEG audio frames,
// or the frames alone. Only MPEG audio Layer III is MP3; Layer I and II
// (MP1, MP2) are refused.

// isMP3 reports whether head starts with an MP3 stream: a well-formed ID3v2
// tag, or a valid Layer III frame header that is followed (when the head is
// long enough to tell) by another one.
//
// A well-formed ID3v2 tag header is accepted on its own when the tag runs
// past the end of the head, since the audio then lies beyond what Detect
// sees. When the whole tag is inside the head, the bytes after it (after any
// zero padding) must start a valid frame, which rejects ID3-tagged files of
// other formats such as FLAC or AAC.
func isMP3(head []byte) bool {
	tagSize, ok := id3v2Size(head)
	if !ok {
		return isFrames(head)
	}
	if tagSize >= len(head) {
		return true // The audio starts beyond the head.
	}
	rest := head[tagSize:]
	for len(rest) > 0 && rest[0] == 0 {
		rest = rest[1:] // padding not counted in the tag size
	}
	if len(rest) < 4 {
		return true // The first frame header starts beyond the head.
	}
	return isFrames(rest)
}

// id3v2Size returns the total size (header, body and footer) of the ID3v2
// tag at the start of b, and whether b starts with a well-formed ID3v2 tag
// header: "ID3", a major version of 2, 3 or 4, a revision other than FF, no
// flag bits undefined for that version and a 28-bit syncsafe size (each
// byte below 0x80).
func id3v2Size(b []byte) (int, bool) {
	const headerSize = 10
	if len(b) < headerSize || string(b[:3]) != "ID3" {
		return 0, false
	}
	version, revision, flags := b[3], b[4], b[5]
	var defined byte // flag bits defined by this version
	switch version {
	case 2:
		defined = 0xC0 // unsynchronisation, compression
	case 3:
		defined = 0xE0 // + extended header, experimental
	case 4:
		defined = 0xF0 // + footer present
	default:
		return 0, false
	}
	if revision == 0xFF || flags&^defined != 0 {
		return 0, false
	}
	size := 0
	for _, c := range b[6:10] {
		if c >= 0x80 {
			return 0, false
		}
		size = size<<7 | int(c)
	}
	total := headerSize + size
	if version == 4 && flags&0x10 != 0 {
		total += headerSize // footer
	}
	return total, true
}

// isFrames reports whether b starts with a valid Layer III frame header and,
// when b is long enough, the frame after it starts with a valid header of the
// same stream (same MPEG version and sample rate), or with an ID3v1 tag. A
// single header is accepted when the next one lies beyond b.
func isFrames(b []byte) bool {
	first, ok := parseFrameHeader(b)
	if !ok {
		return false
	}
	if len(b) < first.length+4 {
		return true // The next header lies beyond b.
	}
	next := b[first.length:]
	if string(next[:3]) == "TAG" {
		return true // ID3v1 tag after the last frame
	}
	second, ok := parseFrameHeader(next)
	return ok && second.version == first.version && second.sampleRate == first.sampleRate
}

// MPEG audio version, as coded in bits 20..19 of the frame header.
const (
	mpeg25       = 0 // MPEG 2.5 (unofficial extension for low sample rates)
	mpegReserved = 1
	mpeg2        = 2
	mpeg1        = 3
)

// layer3 is how the header codes Layer III (bits 18..17).
const layer3 = 1

// layer3Bitrates holds Layer III bitrates in kbit/s by bitrate index, for
// MPEG 1 and for MPEG 2 / 2.5. Index 0 ("free format") and 15 (bad) are
// refused before the tables are used.
var layer3Bitrates = [2][15]int{
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
}

// sampleRates holds sample rates in Hz by MPEG version and rate index.
var sampleRates = [4][3]int{
	mpeg25: {11025, 12000, 8000},
	mpeg2:  {22050, 24000, 16000},
	mpeg1:  {44100, 48000, 32000},
}

// frameHeader is the part of an MPEG audio frame header that Detect uses.
type frameHeader struct {
	version    int // mpeg1, mpeg2 or mpeg25
	sampleRate int // Hz
	length     int // bytes, header included
}

// parseFrameHeader decodes the 4-byte MPEG audio frame header at the start
// of b. It reports false unless b holds a header with the 11-bit sync, a
// defined MPEG version, Layer III, a bitrate index other than 0 (free
// format) and 15, a sample rate index other than 3 and an emphasis other
// than the reserved value 2.
func parseFrameHeader(b []byte) (frameHeader, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return frameHeader{}, false
	}
	version := int(b[1]>>3) & 3
	layer := int(b[1]>>1) & 3
	bitrateIndex := int(b[2] >> 4)
	rateIndex := int(b[2]>>2) & 3
	padding := int(b[2]>>1) & 1
	emphasis := b[3] & 3
	if version == mpegReserved || layer != layer3 ||
		bitrateIndex == 0 || bitrateIndex == 15 || rateIndex == 3 || emphasis == 2 {
		return frameHeader{}, false
	}

	// A Layer III frame holds 1152 samples in MPEG 1 and 576 in MPEG 2 and
	// 2.5, hence 144 or 72 bytes per (bit/s ÷ Hz).
	table, factor := 0, 144
	if version != mpeg1 {
		table, factor = 1, 72
	}
	bitrate := layer3Bitrates[table][bitrateIndex] * 1000
	rate := sampleRates[version][rateIndex]
	return frameHeader{
		version:    version,
		sampleRate: rate,
		length:     factor*bitrate/rate + padding,
	}, true
}
