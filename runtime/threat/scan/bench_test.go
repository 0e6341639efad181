package scan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// doc64K is a realistic ~64 KiB JSON document: an array of records.
func doc64K() []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 64<<10-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"customer %d","email":"user%d@example.com","active":true,"score":%d.25,"tags":["a","b\n"],"address":{"city":"Zürich","zip":"80%02d"}}`, i, i, i, i*7, i%100)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkScanJSON64K(b *testing.B) {
	doc := doc64K()
	l := JSONLimits{MaxContainerDepth: 10, MaxObjectEntries: 100, MaxEntryNameLength: 64, MaxArrayElements: 10000, MaxStringLength: 1000}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	r := bytes.NewReader(doc)
	for b.Loop() {
		r.Reset(doc)
		if v, err := ScanJSON(r, l); v != nil || err != nil {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkScanXML64K(b *testing.B) {
	var d strings.Builder
	d.WriteString(`<?xml version="1.0"?><orders xmlns="urn:x">`)
	for i := 0; d.Len() < 64<<10-100; i++ {
		fmt.Fprintf(&d, `<order id="%d" status="open"><customer>Customer %d &amp; Co</customer><!-- c --><total currency="EUR">%d.50</total></order>`, i, i, i)
	}
	d.WriteString(`</orders>`)
	doc := []byte(d.String())
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	r := bytes.NewReader(doc)
	for b.Loop() {
		r.Reset(doc)
		if v, err := ScanXML(r, XMLLimits{MaxNodeDepth: 10, MaxTextLength: 1000}); v != nil || err != nil {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkSQLInjection(b *testing.B) {
	for _, c := range []struct{ name, v string }{
		{"plain", "john.smith"},
		{"apostrophe", "O'Brien"},
		{"email", "john.doe@example.com"},
		{"attack", "' OR 1=1--"},
		{"union", "1 UNION SELECT username, password FROM users"},
		{"text200", strings.Repeat("lorem ipsum ", 17)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SQLInjection(c.v)
			}
		})
	}
}
