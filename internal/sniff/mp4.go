package sniff

import "encoding/binary"

// mp4Brands are the ftyp major brands accepted as MP4 video.
//
// Included: the ISO base media brands (isom, iso2..iso6), the MP4 brands
// (mp41, mp42), avc1, dash (fragmented MP4 as produced for DASH) and
// Apple's "M4V " (MP4 video, as written by iTunes and many converters).
//
// Left out on purpose: "M4A " / "M4B " (audio-only MP4; not a video upload),
// "qt  " (QuickTime .mov, a different container in practice even though it
// shares the box syntax), and the 3GPP brands (3gp4..3gp6; their content
// type is video/3gpp, and phones that record 3GP today are rare).
var mp4Brands = map[string]bool{
	"isom": true,
	"iso2": true,
	"iso3": true,
	"iso4": true,
	"iso5": true,
	"iso6": true,
	"mp41": true,
	"mp42": true,
	"avc1": true,
	"dash": true,
	"M4V ": true,
}

// maxFtypSize bounds the ftyp box. It holds 8 bytes of header, the major
// brand, the minor version and a list of 4-byte compatible brands; real
// files list a handful, so anything near this bound is not a real file.
const maxFtypSize = 1024

// isMP4 reports whether head starts with an ISO BMFF ftyp box of sane size
// whose major brand is one of mp4Brands. When the head also holds the header
// of the box after ftyp, that header must look like a box header too.
func isMP4(head []byte) bool {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return false
	}
	// The smallest ftyp has a header, a major brand and a minor version;
	// compatible brands come in whole 4-byte units.
	size := binary.BigEndian.Uint32(head)
	if size < 16 || size > maxFtypSize || size%4 != 0 {
		return false
	}
	if !mp4Brands[string(head[8:12])] {
		return false
	}
	if next := int(size); len(head) >= next+8 {
		return isBoxHeader(head[next : next+8])
	}
	return true
}

// isBoxHeader reports whether h (8 bytes) looks like an ISO BMFF box header:
// a size of 0 (box runs to the end of the file), 1 (a 64-bit size follows)
// or at least 8, and a type of four printable ASCII characters.
func isBoxHeader(h []byte) bool {
	size := binary.BigEndian.Uint32(h)
	if size > 1 && size < 8 {
		return false
	}
	for _, c := range h[4:8] {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}
