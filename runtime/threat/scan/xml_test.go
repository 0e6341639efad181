package scan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScanXMLFixtures(t *testing.T) {
	cases := []struct {
		file  string
		l     XMLLimits
		limit string // "" = no violation
	}{
		{"order.xml", XMLLimits{}, ""},
		{"order.xml", XMLLimits{MaxNodeDepth: 3, MaxChildCount: 2, MaxElementNameLength: 10, MaxAttributesPerElement: 2,
			MaxAttributeNameLength: 8, MaxAttributeValueLength: 4, MaxNamespacesPerElement: 2, MaxNamespacePrefixLength: 1,
			MaxNamespaceURILength: 19, MaxTextLength: 28, MaxCommentLength: 10, MaxPITargetLength: 6, MaxPIDataLength: 14}, ""},
		{"order.xml", XMLLimits{MaxNodeDepth: 2}, "max_node_depth"},
		{"order.xml", XMLLimits{MaxChildCount: 1}, "max_child_count"},
		{"order.xml", XMLLimits{MaxElementNameLength: 9}, "max_element_name_length"},
		{"order.xml", XMLLimits{MaxAttributesPerElement: 1}, "max_attributes_per_element"},
		{"order.xml", XMLLimits{MaxAttributeNameLength: 7}, "max_attribute_name_length"},
		{"order.xml", XMLLimits{MaxAttributeValueLength: 3}, "max_attribute_value_length"},
		{"order.xml", XMLLimits{MaxNamespacesPerElement: 1}, "max_namespaces_per_element"},
		{"order.xml", XMLLimits{MaxNamespaceURILength: 18}, "max_namespace_uri_length"},
		{"order.xml", XMLLimits{MaxTextLength: 27}, "max_text_length"},
		{"order.xml", XMLLimits{MaxCommentLength: 9}, "max_comment_length"},
		{"order.xml", XMLLimits{MaxPITargetLength: 5}, "max_pi_target_length"},
		{"order.xml", XMLLimits{MaxPIDataLength: 13}, "max_pi_data_length"},
		{"deep.xml", XMLLimits{MaxNodeDepth: 5}, ""},
		{"deep.xml", XMLLimits{MaxNodeDepth: 4}, "max_node_depth"},
		{"many_attrs.xml", XMLLimits{MaxAttributesPerElement: 5}, ""},
		{"many_attrs.xml", XMLLimits{MaxAttributesPerElement: 4}, "max_attributes_per_element"},
		{"namespaces.xml", XMLLimits{MaxNamespacesPerElement: 3, MaxNamespacePrefixLength: 23}, ""},
		{"namespaces.xml", XMLLimits{MaxNamespacesPerElement: 2}, "max_namespaces_per_element"},
		{"namespaces.xml", XMLLimits{MaxNamespacePrefixLength: 22}, "max_namespace_prefix_length"},
		{"comment.xml", XMLLimits{MaxCommentLength: 32}, ""},
		{"comment.xml", XMLLimits{MaxCommentLength: 31}, "max_comment_length"},
		{"pi.xml", XMLLimits{MaxPITargetLength: 21, MaxPIDataLength: 32}, ""},
		{"pi.xml", XMLLimits{MaxPITargetLength: 20}, "max_pi_target_length"},
		{"pi.xml", XMLLimits{MaxPIDataLength: 31}, "max_pi_data_length"},
		{"children.xml", XMLLimits{MaxChildCount: 5}, ""},
		{"children.xml", XMLLimits{MaxChildCount: 4}, "max_child_count"},
		{"text.xml", XMLLimits{MaxTextLength: 32}, ""},
		{"text.xml", XMLLimits{MaxTextLength: 31}, "max_text_length"},
		{"text.xml", XMLLimits{MaxTextLength: 19}, "max_text_length"}, // text and CDATA form one text node
		{"billion_laughs.xml", XMLLimits{}, "dtd"},
		{"xxe.xml", XMLLimits{}, "dtd"},
		{"undefined_entity.xml", XMLLimits{}, "syntax"},
		{"mismatched.xml", XMLLimits{}, "syntax"},
		{"two_roots.xml", XMLLimits{}, "syntax"},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", "xml", c.file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := ScanXML(strings.NewReader(string(data)), c.l)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		got := ""
		if v != nil {
			got = v.Limit
			if v.Filter != "xml" || v.Message == "" {
				t.Errorf("%s: bad violation %+v", c.file, v)
			}
		}
		if got != c.limit {
			t.Errorf("%s %+v: violation %q (%v), want %q", c.file, c.l, got, v, c.limit)
		}
	}
}

func TestScanXMLSyntax(t *testing.T) {
	bad := []string{`<a>`, `<a></b>`, `<a b></a>`, `<a b=c/>`, `<a b="c/>`, `<a b="<"/>`, `text`, `<a/>text`, `<!-- x`,
		`<a><![CDATA[x</a>`, `<![CDATA[x]]>`, `<?pi x`, `<a>&#;</a>`, `<a>&#xZZ;</a>`, `<a>&amp</a>`, `<1a/>`, `</a>`, `<a/ >`, `<!X>`, `<!-- only a comment -->`, `<?pi only?>`}
	for _, in := range bad {
		v, err := ScanXML(strings.NewReader(in), XMLLimits{})
		if err != nil || v == nil || v.Limit != "syntax" {
			t.Errorf("%q: got %v, %v; want a syntax violation", in, v, err)
		}
	}
	good := []string{``, " \n", `<a/>`, "\xEF\xBB\xBF<a/>", `<a></a >`, `<a b='1' c="2"/>`, `<a>&lt;&#60;&#x3C;</a>`,
		`<!-- c --><a/><!-- d --><?pi?>`, `<a><![CDATA[]]]]><![CDATA[>]]></a>`, `<a><!-- x--y --></a>`, `<p:a xmlns:p="u"></p:a>`,
		"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><a/>"}
	for _, in := range good {
		if v, err := ScanXML(strings.NewReader(in), XMLLimits{}); v != nil || err != nil {
			t.Errorf("%q: got %v, %v; want none", in, v, err)
		}
	}
}

// Terminators split by near-misses are counted exactly.
func TestScanXMLTerminatorCounting(t *testing.T) {
	cases := []struct {
		in    string
		l     XMLLimits
		limit string
	}{
		{`<a><!--a-b--></a>`, XMLLimits{MaxCommentLength: 3}, ""},
		{`<a><!--a-b--></a>`, XMLLimits{MaxCommentLength: 2}, "max_comment_length"},
		{`<a><![CDATA[x]]]]></a>`, XMLLimits{MaxTextLength: 3}, ""},
		{`<a><![CDATA[x]]]]></a>`, XMLLimits{MaxTextLength: 2}, "max_text_length"},
		{`<a><?p d??></a>`, XMLLimits{MaxPIDataLength: 2}, ""},
		{`<a><?p d??></a>`, XMLLimits{MaxPIDataLength: 1}, "max_pi_data_length"},
		{`<a>é&amp;</a>`, XMLLimits{MaxTextLength: 2}, ""},
		{`<a b="é&amp;"/>`, XMLLimits{MaxAttributeValueLength: 2}, ""},
		{`<a b="é&amp;x"/>`, XMLLimits{MaxAttributeValueLength: 2}, "max_attribute_value_length"},
	}
	for _, c := range cases {
		v, err := ScanXML(strings.NewReader(c.in), c.l)
		got := ""
		if v != nil {
			got = v.Limit
		}
		if err != nil || got != c.limit {
			t.Errorf("%q: got %v, %v; want %q", c.in, v, err, c.limit)
		}
	}
}

// Huge text, attribute values and comments stream through in constant
// memory, and stop at the limit after its first bytes.
func TestScanXMLHugeTokensBounded(t *testing.T) {
	cases := []struct {
		prefix, fill, suffix string
		l                    XMLLimits
		limit                string
	}{
		{"<a>", "text ", "</a>", XMLLimits{MaxTextLength: 100}, "max_text_length"},
		{`<a b="`, "value ", `"/>`, XMLLimits{MaxAttributeValueLength: 100}, "max_attribute_value_length"},
		{"<a><!--", "comment ", "--></a>", XMLLimits{MaxCommentLength: 100}, "max_comment_length"},
		{"<a><![CDATA[", "cdata ", "]]></a>", XMLLimits{MaxTextLength: 100}, "max_text_length"},
		{"<", "n", "/>", XMLLimits{MaxElementNameLength: 100}, "max_element_name_length"},
		{"", "<a>", "", XMLLimits{MaxNodeDepth: 100}, "max_node_depth"},
		{"<a>", "<b/>", "</a>", XMLLimits{MaxChildCount: 100}, "max_child_count"},
	}
	for _, c := range cases {
		g := &genReader{prefix: c.prefix, fill: c.fill, suffix: c.suffix, size: 100 * mib}
		var v *Violation
		var err error
		alloc := allocated(t, func() { v, err = ScanXML(g, c.l) })
		if err != nil || v == nil || v.Limit != c.limit {
			t.Fatalf("%q: got %v, %v; want %s", c.fill, v, err, c.limit)
		}
		if g.read > bufSize || alloc > 64<<10 {
			t.Errorf("%q: read %d bytes, allocated %d", c.fill, g.read, alloc)
		}
	}
	if testing.Short() {
		return
	}
	// Unlimited: 8 MiB of text go through in constant memory.
	g := &genReader{prefix: "<a>", fill: "text ", suffix: "</a>", size: 8 * mib}
	var v *Violation
	var err error
	alloc := allocated(t, func() { v, err = ScanXML(g, XMLLimits{}) })
	if err != nil || v != nil || g.read != 8*mib+4 || alloc > 64<<10 {
		t.Fatalf("got %v, %v; read %d, allocated %d", v, err, g.read, alloc)
	}
	// Unlimited depth is capped at HardMaxDepth.
	g = &genReader{fill: "<a>", size: 100 * mib}
	alloc = allocated(t, func() { v, err = ScanXML(g, XMLLimits{}) })
	if err != nil || v == nil || v.Limit != "max_node_depth" || alloc > 1<<20 {
		t.Fatalf("got %v, %v; allocated %d", v, err, alloc)
	}
}

func TestScanXMLBillionLaughsCheap(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "xml", "billion_laughs.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var v *Violation
	alloc := allocated(t, func() { v, _ = ScanXML(strings.NewReader(string(data)), XMLLimits{}) })
	if v == nil || v.Limit != "dtd" || alloc > 64<<10 {
		t.Fatalf("got %v, allocated %d", v, alloc)
	}
}

func TestScanXMLReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	if _, err := ScanXML(&errReader{data: `<a><b>`, err: boom}, XMLLimits{}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	v, err := ScanXML(&errReader{data: `<a><b><c>`, err: boom}, XMLLimits{MaxNodeDepth: 2})
	if err != nil || v == nil || v.Limit != "max_node_depth" {
		t.Fatalf("got %v, %v", v, err)
	}
}

// The XML declaration is not a processing instruction, with or without a
// byte order mark; a later <?xml-stylesheet?> is one.
func TestScanXMLDeclaration(t *testing.T) {
	l := XMLLimits{MaxPIDataLength: 5, MaxPITargetLength: 3}
	for _, in := range []string{`<?xml version="1.0" encoding="UTF-8"?><a/>`, "\xEF\xBB\xBF" + `<?xml version="1.0" encoding="UTF-8"?><a/>`} {
		if v, err := ScanXML(strings.NewReader(in), l); v != nil || err != nil {
			t.Errorf("%q: got %v, %v", in, v, err)
		}
	}
	v, _ := ScanXML(strings.NewReader(`<?xml version="1.0"?><a><?xml-stylesheet href="a.xsl"?></a>`), l)
	if v == nil || v.Limit != "max_pi_target_length" {
		t.Errorf("got %v", v)
	}
}
