package scan

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readLines reads a testdata corpus: one value per line, # comments.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sqli", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("corpus %s has only %d values", name, len(out))
	}
	return out
}

func TestSQLInjectionCorpus(t *testing.T) {
	for _, v := range readLines(t, "attacks.txt") {
		if !SQLInjection(v) {
			t.Errorf("attack not detected: %q", v)
		}
	}
	for _, v := range readLines(t, "benign.txt") {
		if SQLInjection(v) {
			t.Errorf("benign value flagged: %q", v)
		}
	}
}

func TestSQLInjectionTable(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"' OR 1=1--", true},
		{"", false},
		{"'", false},
		{"''", false},
		{"O'Brien", false},
		{"select a plan", false},
		{"1 UNION SELECT 1", true},
		{"UNION\tALL\nSELECT", true},
		{"sleep(5)", true},
		{"pg_sleep(1)", true},
		{"WAITFOR DELAY '0:0:5'", true},
		{"a /* b", false},
		{strings.Repeat("a ", 100) + "' OR 1=1--", true}, // inside '...', the quote ends the string
		{strings.Repeat("a ", 100) + "'s OR 1=1--", false},
		{strings.Repeat("lorem ipsum ", 200) + "; DROP TABLE users", true},
		{strings.Repeat("lorem ipsum ", 200) + " union select 1", true},
	}
	for _, c := range cases {
		if got := SQLInjection(c.in); got != c.want {
			t.Errorf("SQLInjection(%.60q) = %v, want %v", c.in, got, c.want)
		}
	}
}
