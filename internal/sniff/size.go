package sniff

import (
	"bytes"
	"encoding/binary"
)

// ImageSizer finds the pixel dimensions of a JPEG, PNG or BMP image as its
// bytes stream past: write the content to it (an upload, through an
// io.TeeReader) and ask Size afterwards. PNG and BMP keep their dimensions
// at fixed offsets near the start; a JPEG keeps them in its frame header
// (SOF), which often follows tens of kilobytes of Exif metadata, so the
// sizer walks the JPEG's segments, skipping their bodies, until it finds
// one. It holds a few hundred bytes at most and stops looking once it has
// an answer, so writing a large file through it costs nothing more.
//
// For a JPEG whose Exif orientation turns it a quarter turn (orientations
// 5 to 8), Size reports the dimensions as the picture is shown, width and
// height swapped.
//
// The zero value is ready to use. Write never fails.
type ImageSizer struct {
	head  [fixedHeadSize]byte // PNG and BMP: the first bytes
	nhead int
	jpeg  bool // the content starts with a JPEG SOI marker
	done  bool // nothing more to read: found, or given up

	width, height int

	// JPEG segment walk.
	state   jpegState
	marker  byte
	length  int    // the current segment's length field, less its own two bytes
	skip    int    // bytes of the current segment still to skip
	segment []byte // the start of an APP1 or SOF segment, while collected
	want    int    // how many bytes of the segment to collect
	rotated bool   // Exif orientation 5 to 8
}

// fixedHeadSize holds the PNG IHDR fields (24 bytes) and a BMP's file
// header and the width and height of its DIB header (26 bytes).
const fixedHeadSize = 32

type jpegState uint8

const (
	jpegMarkerStart jpegState = iota // expecting 0xFF
	jpegMarkerCode                   // expecting the marker code (or fill bytes 0xFF)
	jpegLength1                      // the segment length's high byte
	jpegLength2                      // its low byte
	jpegCollect                      // collecting the start of a segment
	jpegSkip                         // skipping the rest of a segment
)

// exifCollect is how much of an Exif APP1 segment is kept to find the
// orientation tag: the TIFF header and the first image file directory,
// which every writer puts at its start.
const exifCollect = 512

// ImageSize reports the dimensions of the image whose content (or first
// part) is data, as ImageSizer does.
func ImageSize(data []byte) (width, height int, ok bool) {
	var z ImageSizer
	_, _ = z.Write(data)
	return z.Size()
}

// Write reads the next part of the content. It always consumes all of p.
func (z *ImageSizer) Write(p []byte) (int, error) {
	n := len(p)
	if z.done {
		return n, nil
	}
	if !z.jpeg {
		c := copy(z.head[z.nhead:], p)
		z.nhead += c
		if z.nhead >= 2 && z.head[0] == 0xFF && z.head[1] == 0xD8 {
			// SOI; the walk starts at the next marker.
			z.jpeg = true
			z.state = jpegMarkerStart
			z.walk(z.head[2:z.nhead])
			z.walk(p[c:])
			return n, nil
		}
		if z.nhead == len(z.head) {
			z.width, z.height, _ = fixedSize(z.head[:])
			z.done = true
		}
		return n, nil
	}
	z.walk(p)
	return n, nil
}

// Size reports the dimensions found in what was written so far.
func (z *ImageSizer) Size() (width, height int, ok bool) {
	if !z.jpeg && !z.done {
		z.width, z.height, _ = fixedSize(z.head[:z.nhead])
	}
	if z.width <= 0 || z.height <= 0 {
		return 0, 0, false
	}
	if z.rotated {
		return z.height, z.width, true
	}
	return z.width, z.height, true
}

// fixedSize reads the dimensions of a PNG or BMP from its first bytes.
func fixedSize(b []byte) (width, height int, ok bool) {
	switch {
	case isPNG(b):
		// The IHDR chunk comes first: length, "IHDR", width, height.
		if len(b) < 24 || string(b[12:16]) != "IHDR" {
			return 0, 0, false
		}
		w, h := binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
		if w == 0 || h == 0 || w > 1<<31-1 || h > 1<<31-1 {
			return 0, 0, false
		}
		return int(w), int(h), true
	case isBMP(b):
		le := binary.LittleEndian
		if le.Uint32(b[14:]) == 12 { // BITMAPCOREHEADER: 16-bit fields
			return int(le.Uint16(b[18:])), int(le.Uint16(b[20:])), true
		}
		if len(b) < 26 {
			return 0, 0, false
		}
		w, h := int64(int32(le.Uint32(b[18:]))), int64(int32(le.Uint32(b[22:])))
		if h < 0 {
			h = -h // a top-down bitmap
		}
		if w <= 0 || h <= 0 || h > 1<<31-1 {
			return 0, 0, false
		}
		return int(w), int(h), true
	}
	return 0, 0, false
}

// isSOF reports whether marker starts a frame header: SOF0 to SOF15 except
// DHT (C4), JPG (C8) and DAC (CC).
func isSOF(marker byte) bool {
	return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
}

// walk advances the JPEG segment walk over p.
func (z *ImageSizer) walk(p []byte) {
	for len(p) > 0 && !z.done {
		switch z.state {
		case jpegMarkerStart:
			if p[0] != 0xFF {
				z.done = true // not a marker where one must be
				return
			}
			p = p[1:]
			z.state = jpegMarkerCode
		case jpegMarkerCode:
			m := p[0]
			p = p[1:]
			switch {
			case m == 0xFF: // fill byte
			case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7):
				z.state = jpegMarkerStart // no segment body
			case m == 0xD9 || m == 0xDA || m == 0x00:
				// End of image, or scan data, before any frame header.
				z.done = true
				return
			default:
				z.marker = m
				z.state = jpegLength1
			}
		case jpegLength1:
			z.length = int(p[0]) << 8
			p = p[1:]
			z.state = jpegLength2
		case jpegLength2:
			z.length |= int(p[0])
			p = p[1:]
			if z.length < 2 {
				z.done = true
				return
			}
			z.length -= 2
			z.skip = z.length
			z.state = jpegSkip
			switch {
			case isSOF(z.marker):
				// precision, height, width
				z.want = 5
			case z.marker == 0xE1 && !z.rotated:
				z.want = min(z.length, exifCollect)
			default:
				z.want = 0
			}
			if z.want > 0 {
				if z.want > z.length {
					z.done = true
					return
				}
				z.segment = z.segment[:0]
				z.state = jpegCollect
			}
		case jpegCollect:
			c := min(z.want-len(z.segment), len(p))
			z.segment = append(z.segment, p[:c]...)
			p = p[c:]
			if len(z.segment) < z.want {
				continue
			}
			z.skip = z.length - z.want
			z.state = jpegSkip
			if isSOF(z.marker) {
				z.height = int(binary.BigEndian.Uint16(z.segment[1:]))
				z.width = int(binary.BigEndian.Uint16(z.segment[3:]))
				z.done = true
				z.segment = nil
				return
			}
			z.rotated = exifRotated(z.segment)
		case jpegSkip:
			c := min(z.skip, len(p))
			z.skip -= c
			p = p[c:]
			if z.skip == 0 {
				z.state = jpegMarkerStart
			}
		}
	}
	if z.state == jpegSkip && z.skip == 0 {
		z.state = jpegMarkerStart
	}
}

// exifRotated reports whether the Exif data at the start of an APP1
// segment holds an orientation of 5 to 8: the picture is shown turned a
// quarter, so its displayed width is its stored height.
func exifRotated(seg []byte) bool {
	tiff, ok := bytes.CutPrefix(seg, []byte("Exif\x00\x00"))
	if !ok || len(tiff) < 8 {
		return false
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return false
	}
	if order.Uint16(tiff[2:]) != 42 {
		return false
	}
	ifd := int64(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return false
	}
	entries := int(order.Uint16(tiff[ifd:]))
	for i := range entries {
		at := ifd + 2 + int64(i)*12
		if at+12 > int64(len(tiff)) {
			return false
		}
		e := tiff[at : at+12]
		// Tag 0x0112, type SHORT (3), count 1: the value sits in the
		// first two bytes of the value field.
		if order.Uint16(e) == 0x0112 && order.Uint16(e[2:]) == 3 {
			v := order.Uint16(e[8:])
			return v >= 5 && v <= 8
		}
	}
	return false
}
