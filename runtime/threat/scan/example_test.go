package scan_test

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/threat/scan"
)

func ExampleScanJSON() {
	v, err := scan.ScanJSON(strings.NewReader(`{"a":{"b":{"c":{"d":1}}}}`), scan.JSONLimits{MaxContainerDepth: 3})
	fmt.Println(v.Filter, v.Limit, v.Message, err)
	// Output: json max_container_depth JSON container depth 4 exceeds 3 <nil>
}

func ExampleScanXML() {
	v, _ := scan.ScanXML(strings.NewReader(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`), scan.XMLLimits{})
	fmt.Println(v.Limit)
	// Output: dtd
}

func ExampleCheckSQLInjection() {
	q := map[string][]string{"name": {"O'Brien"}, "id": {"1' OR '1'='1"}}
	fmt.Println(scan.CheckSQLInjection(q, "", nil, nil, 0).Message)
	// Output: SQL injection in parameter "id"
}
