package config

import (
	"errors"
	"fmt"
	"strings"
)

// confEntry is one "name = value" line of a configuration file.
type confEntry struct {
	line  int
	name  string
	value string
}

// parseConf parses kong.conf syntax: "name = value" lines, where "#"
// starts a comment unless escaped as "\#", blank lines are ignored and
// whitespace around names and values is trimmed. Values may be empty.
// name is the file name used in error messages. It does not check setting
// names; see Config.applyConf. Malformed lines are reported together in
// the error, and the well-formed entries are still returned.
func parseConf(name string, data []byte) ([]confEntry, error) {
	text := strings.TrimPrefix(string(data), "\ufeff")
	var entries []confEntry
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(stripComment(line))
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("config file %s line %d: expected \"name = value\", got %q", name, i+1, line))
			continue
		}
		key = strings.TrimSpace(key)
		if key == "" {
			errs = append(errs, fmt.Errorf("config file %s line %d: missing setting name before \"=\"", name, i+1))
			continue
		}
		entries = append(entries, confEntry{
			line:  i + 1,
			name:  key,
			value: strings.ReplaceAll(strings.TrimSpace(value), `\#`, "#"),
		})
	}
	return entries, errors.Join(errs...)
}

// stripComment cuts line at the first "#" not preceded by a backslash.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] != '\\') {
			return line[:i]
		}
	}
	return line
}
