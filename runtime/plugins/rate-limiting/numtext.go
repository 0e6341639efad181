package ratelimiting

import (
	"math"
	"strconv"
	"sync"
	"unsafe"
)

// numText renders the numbers of the rate-limit headers without a string
// allocation per number: digits are appended to a block of memory and
// the string returned is a view of them. A block is only ever appended
// to, never rewritten, so every string handed out stays valid for as long
// as someone holds it (the node keeps header values until the response is
// sent); a full block is left to the garbage collector and a new one
// started. One allocation serves about numBlock/8 numbers instead of one
// each. numTexts are taken from a pool, one per request at a time.
type numText struct {
	buf []byte
}

// numBlock is the size of a block of digits.
const numBlock = 4096

var numTexts = sync.Pool{New: func() any { return new(numText) }}

func getNumText() *numText  { return numTexts.Get().(*numText) }
func putNumText(t *numText) { numTexts.Put(t) }

// int renders v in decimal.
func (t *numText) int(v int64) string {
	if 0 <= v && v < 100 {
		return strconv.FormatInt(v, 10) // strconv's own static strings
	}
	if cap(t.buf)-len(t.buf) < 20 {
		t.buf = make([]byte, 0, numBlock)
	}
	start := len(t.buf)
	t.buf = strconv.AppendInt(t.buf, v, 10)
	return unsafe.String(&t.buf[start], len(t.buf)-start)
}

// number renders f as formatNumber does.
func (t *numText) number(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return t.int(int64(f))
	}
	return formatNumber(f)
}
