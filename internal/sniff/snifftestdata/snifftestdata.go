// Package snifftestdata builds small, valid media files for tests: images
// encoded with the standard library and hand-built BMP, MP3 and MP4 files
// whose structure follows the respective formats closely enough for
// sniff.Detect and ordinary players or decoders to recognise them.
//
// It is meant for tests only; the builders panic if the standard library
// encoders fail, which cannot happen when writing to memory.
package snifftestdata

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// PNG returns an 8×8 gradient encoded by image/png.
func PNG() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, gradient(8, 8)); err != nil {
		panic("snifftestdata: encode png: " + err.Error())
	}
	return buf.Bytes()
}

// JPEG returns a 16×16 gradient encoded by image/jpeg.
func JPEG() []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gradient(16, 16), &jpeg.Options{Quality: 80}); err != nil {
		panic("snifftestdata: encode jpeg: " + err.Error())
	}
	return buf.Bytes()
}

// JPEGWithExif returns a w×h gradient encoded by image/jpeg, with an Exif
// APP1 segment right after the SOI marker that holds the given orientation
// tag (1 to 8) followed by pad zero bytes, so that the frame header lies
// beyond the first pad bytes of the file, as in a camera's picture.
func JPEGWithExif(w, h int, orientation uint16, pad int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gradient(w, h), &jpeg.Options{Quality: 80}); err != nil {
		panic("snifftestdata: encode jpeg: " + err.Error())
	}
	plain := buf.Bytes()
	le := binary.LittleEndian
	exif := []byte("Exif\x00\x00II")
	exif = le.AppendUint16(exif, 42)
	exif = le.AppendUint32(exif, 8) // IFD0 right after the TIFF header
	exif = le.AppendUint16(exif, 1) // one entry
	exif = le.AppendUint16(exif, 0x0112)
	exif = le.AppendUint16(exif, 3) // SHORT
	exif = le.AppendUint32(exif, 1)
	exif = le.AppendUint16(exif, orientation)
	exif = le.AppendUint16(exif, 0)
	exif = le.AppendUint32(exif, 0) // no next IFD
	exif = append(exif, make([]byte, pad)...)
	if len(exif)+2 > 0xFFFF {
		panic("snifftestdata: Exif segment too long")
	}
	out := append([]byte{}, plain[:2]...) // SOI
	out = append(out, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(exif)+2))
	out = append(out, exif...)
	return append(out, plain[2:]...)
}

// gradient returns a w×h image whose colours vary with position.
func gradient(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: 255})
		}
	}
	return img
}

// BMP returns a 3×2, 24-bit, bottom-up BMP: a 14-byte file header, a 40-byte
// BITMAPINFOHEADER and two pixel rows of 9 bytes each padded to 12.
func BMP() []byte {
	const (
		width, height = 3, 2
		headers       = 14 + 40
		rowSize       = (width*3 + 3) &^ 3 // rows are padded to 4 bytes
		pixelBytes    = rowSize * height
	)
	b := make([]byte, headers+pixelBytes)
	le := binary.LittleEndian

	// BITMAPFILEHEADER
	copy(b, "BM")
	le.PutUint32(b[2:], uint32(len(b))) // file size
	le.PutUint32(b[10:], headers)       // pixel data offset

	// BITMAPINFOHEADER
	le.PutUint32(b[14:], 40)         // header size
	le.PutUint32(b[18:], width)      // width
	le.PutUint32(b[22:], height)     // height (positive: bottom-up)
	le.PutUint16(b[26:], 1)          // colour planes
	le.PutUint16(b[28:], 24)         // bits per pixel
	le.PutUint32(b[30:], 0)          // BI_RGB, uncompressed
	le.PutUint32(b[34:], pixelBytes) // image size
	le.PutUint32(b[38:], 2835)       // 72 dpi horizontally
	le.PutUint32(b[42:], 2835)       // 72 dpi vertically
	// Colours used and important colours stay 0.

	// Pixels, stored blue, green, red.
	for y := range height {
		row := b[headers+y*rowSize:]
		for x := range width {
			row[x*3] = uint8(40 * x)
			row[x*3+1] = uint8(100 * y)
			row[x*3+2] = 200
		}
	}
	return b
}

// MP3FrameHeader is the header of every frame MP3 writes: MPEG 1 Layer III,
// no CRC, 128 kbit/s, 44.1 kHz, no padding, stereo.
var MP3FrameHeader = [4]byte{0xFF, 0xFB, 0x90, 0x00}

// MP3FrameSize is the length in bytes of a frame with MP3FrameHeader:
// 144 × 128000 / 44100, rounded down.
const MP3FrameSize = 417

// MP3 returns frames consecutive MPEG audio frames, each MP3FrameHeader
// followed by a zeroed body (silence as far as detection is concerned).
func MP3(frames int) []byte {
	b := make([]byte, max(frames, 0)*MP3FrameSize)
	for i := 0; i < len(b); i += MP3FrameSize {
		copy(b[i:], MP3FrameHeader[:])
	}
	return b
}

// MP3WithID3 returns an ID3v2.4 tag holding a title frame and some padding,
// followed by three frames as written by MP3.
func MP3WithID3() []byte {
	title := append([]byte{3}, "Tim test tone"...) // 3: UTF-8
	var body []byte
	body = append(body, "TIT2"...)
	body = append(body, syncsafe(len(title))...)
	body = append(body, 0, 0) // frame flags
	body = append(body, title...)
	body = append(body, make([]byte, 32)...) // padding, counted in the tag size

	var b []byte
	b = append(b, "ID3"...)
	b = append(b, 4, 0, 0) // version 2.4.0, no flags
	b = append(b, syncsafe(len(body))...)
	b = append(b, body...)
	return append(b, MP3(3)...)
}

// syncsafe encodes n as an ID3v2 4-byte syncsafe integer (7 bits a byte).
func syncsafe(n int) []byte {
	return []byte{byte(n>>21) & 0x7F, byte(n>>14) & 0x7F, byte(n>>7) & 0x7F, byte(n) & 0x7F}
}

// MP4 returns an ISO BMFF file of size bytes, or of the smallest size the
// structure allows when size is smaller: an ftyp box (major brand isom), a
// moov box holding a version 0 mvhd box, and an mdat box whose zeroed
// payload pads the file to the requested size.
func MP4(size int) []byte {
	var b []byte

	// ftyp: major brand, minor version, compatible brands.
	b = appendBox(b, "ftyp", func(b []byte) []byte {
		b = append(b, "isom"...)
		b = binary.BigEndian.AppendUint32(b, 0x200)
		return append(b, "isomiso2avc1mp41"...)
	})

	// moov with a movie header: version 0, one second at 1000 ticks/s.
	b = appendBox(b, "moov", func(b []byte) []byte {
		return appendBox(b, "mvhd", func(b []byte) []byte {
			be := binary.BigEndian
			b = be.AppendUint32(b, 0)          // version 0, flags 0
			b = be.AppendUint32(b, 0)          // creation time
			b = be.AppendUint32(b, 0)          // modification time
			b = be.AppendUint32(b, 1000)       // timescale
			b = be.AppendUint32(b, 1000)       // duration
			b = be.AppendUint32(b, 0x00010000) // rate 1.0
			b = be.AppendUint16(b, 0x0100)     // volume 1.0
			b = append(b, make([]byte, 10)...) // reserved
			for _, m := range [9]uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000} {
				b = be.AppendUint32(b, m) // unity matrix
			}
			b = append(b, make([]byte, 24)...) // pre-defined
			return be.AppendUint32(b, 2)       // next track ID
		})
	})

	// mdat header, then padding.
	pad := max(size-len(b)-8, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(8+pad))
	b = append(b, "mdat"...)
	return append(b, make([]byte, pad)...)
}

// appendBox appends a box of the given type whose payload is written by
// content, then fills in the box size.
func appendBox(b []byte, typ string, content func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = append(b, typ...)
	b = content(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}
