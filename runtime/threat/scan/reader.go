package scan

import (
	"errors"
	"io"
)

// bufSize is the scanners' read buffer: the most they read ahead of the byte
// being looked at.
const bufSize = 4096

// byteReader is a small read buffer over the body. It reads at most bufSize
// bytes ahead of the scanner and never grows.
type byteReader struct {
	r   io.Reader
	buf [bufSize]byte
	pos int
	end int
	off int64 // offset of buf[0] in the stream
	err error
}

// errEOF marks a clean end of input inside the scanners.
var errEOF = io.EOF

// fill reads more input; it returns false at end of input or on error (kept
// in br.err).
func (br *byteReader) fill() bool {
	if br.err != nil {
		return false
	}
	br.off += int64(br.end)
	br.pos, br.end = 0, 0
	for tries := 0; tries < 100; tries++ {
		n, err := br.r.Read(br.buf[:])
		if n > 0 {
			br.end = n
			if err != nil && !errors.Is(err, io.EOF) {
				// Keep the data; report the error at the next fill.
				br.err = err
			} else if err != nil {
				br.err = errEOF
			}
			return true
		}
		if err != nil {
			br.err = err
			return false
		}
	}
	br.err = io.ErrNoProgress
	return false
}

// peek returns the next byte without consuming it; ok is false at the end.
func (br *byteReader) peek() (byte, bool) {
	if br.pos >= br.end && !br.fill() {
		return 0, false
	}
	return br.buf[br.pos], true
}

// next consumes and returns the next byte; ok is false at the end.
func (br *byteReader) next() (byte, bool) {
	if br.pos >= br.end && !br.fill() {
		return 0, false
	}
	c := br.buf[br.pos]
	br.pos++
	return c, true
}

// offset is the stream offset of the next unread byte.
func (br *byteReader) offset() int64 { return br.off + int64(br.pos) }

// ioErr is the reader's error, or nil if the input simply ended.
func (br *byteReader) ioErr() error {
	if br.err == nil || errors.Is(br.err, io.EOF) {
		return nil
	}
	return br.err
}
