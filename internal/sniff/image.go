package sniff

import (
	"bytes"
	"encoding/binary"
)

// isJPEG reports whether head starts with a JPEG SOI marker followed by the
// first byte of another marker (FF D8 FF).
func isJPEG(head []byte) bool {
	return len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF
}

// pngSignature starts every PNG file.
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// isPNG reports whether head starts with the 8-byte PNG signature.
func isPNG(head []byte) bool {
	return bytes.HasPrefix(head, pngSignature)
}

// BMP layout: a 14-byte file header ("BM", file size, 4 reserved bytes,
// offset of the pixel data), then a DIB header whose first field is its own
// size. The known DIB header sizes are BITMAPCOREHEADER (12),
// BITMAPINFOHEADER (40), the Adobe variants (52, 56), BITMAPV4HEADER (108)
// and BITMAPV5HEADER (124).
const bmpFileHeaderSize = 14

// isBMP reports whether head starts with a plausible BMP header: the "BM"
// magic, a known DIB header size, a pixel data offset past the headers, a
// file size field that is either zero (some writers leave it so) or large
// enough to hold the headers, one colour plane and a valid bit depth.
func isBMP(head []byte) bool {
	if len(head) < bmpFileHeaderSize+4 || head[0] != 'B' || head[1] != 'M' {
		return false
	}
	fileSize := binary.LittleEndian.Uint32(head[2:])
	pixelOffset := binary.LittleEndian.Uint32(head[10:])
	dibSize := binary.LittleEndian.Uint32(head[14:])

	var planesAt, bitsAt int // offsets of the planes and bit count fields
	switch dibSize {
	case 12: // BITMAPCOREHEADER: 16-bit width and height.
		planesAt, bitsAt = 22, 24
	case 40, 52, 56, 108, 124: // 32-bit width and height.
		planesAt, bitsAt = 26, 28
	default:
		return false
	}
	headers := bmpFileHeaderSize + dibSize
	if pixelOffset < headers {
		return false
	}
	if fileSize != 0 && fileSize < headers {
		return false
	}
	if len(head) < bitsAt+2 {
		return false // truncated header
	}
	if binary.LittleEndian.Uint16(head[planesAt:]) != 1 {
		return false
	}
	switch binary.LittleEndian.Uint16(head[bitsAt:]) {
	case 1, 2, 4, 8, 16, 24, 32:
		return true
	}
	return false
}
