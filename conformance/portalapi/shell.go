// Package portalapi holds the conformance tests of the workspace and
// Developer Portal Admin API (issue 16 item 3): the IAM training's curl
// calls (testdata/training.txt for §8–§10, testdata/training-core.txt for
// §4–§7, testdata/appreg.txt for §9.3, copied verbatim), run with curl
// against a real node on SQLite and on Postgres.
package portalapi

import (
	"errors"
	"fmt"
	"strings"
)

// Command is one curl command of a testdata commands file.
type Command struct {
	// Name is the command's "### name".
	Name string
	// Text is the command as written.
	Text string
}

// ParseCommands reads the "### name" sections of a commands file.
func ParseCommands(data string) ([]Command, error) {
	var out []Command
	for _, sec := range strings.Split(data, "\n### ")[1:] {
		name, text, ok := strings.Cut(sec, "\n")
		if !ok || strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("command %q has no text", name)
		}
		out = append(out, Command{Name: strings.TrimSpace(name), Text: strings.TrimSpace(text)})
	}
	if len(out) == 0 {
		return nil, errors.New("no commands")
	}
	return out, nil
}

// SplitWords splits a shell command line into words as bash does for the
// quoting the training uses: single quotes, double quotes (with \" \\ \$
// \` escapes), ANSI-C $'...' quotes, backslash escapes and
// backslash-newline continuations. It expands nothing.
func SplitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	r := []rune(line)
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(r) {
				return nil, errors.New("trailing backslash")
			}
			i++
			if r[i] != '\n' {
				cur.WriteRune(r[i])
				inWord = true
			}
		case c == '\'':
			end := indexRune(r, i+1, '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(string(r[i+1 : end]))
			i, inWord = end, true
		case c == '$' && i+1 < len(r) && r[i+1] == '\'':
			n, err := ansiC(r, i+2, &cur)
			if err != nil {
				return nil, err
			}
			i, inWord = n, true
		case c == '"':
			j := i + 1
			for ; j < len(r) && r[j] != '"'; j++ {
				if r[j] == '\\' && j+1 < len(r) && strings.ContainsRune("\"\\$`\n", r[j+1]) {
					j++
					if r[j] != '\n' {
						cur.WriteRune(r[j])
					}
					continue
				}
				cur.WriteRune(r[j])
			}
			if j >= len(r) {
				return nil, errors.New("unterminated double quote")
			}
			i, inWord = j, true
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func indexRune(r []rune, from int, c rune) int {
	for i := from; i < len(r); i++ {
		if r[i] == c {
			return i
		}
	}
	return -1
}

// ansiC decodes the body of a $'...' quote starting at r[i] into cur and
// returns the index of the closing quote.
func ansiC(r []rune, i int, cur *strings.Builder) (int, error) {
	esc := map[rune]string{'n': "\n", 't': "\t", 'r': "\r", '\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b",
		'e': "\x1b", 'f': "\f", 'v': "\v", '?': "?"}
	for ; i < len(r); i++ {
		switch r[i] {
		case '\'':
			return i, nil
		case '\\':
			if i+1 >= len(r) {
				return 0, errors.New("unterminated $' quote")
			}
			i++
			s, ok := esc[r[i]]
			if !ok {
				return 0, fmt.Errorf("unsupported escape \\%c in $' quote", r[i])
			}
			cur.WriteString(s)
		default:
			cur.WriteRune(r[i])
		}
	}
	return 0, errors.New("unterminated $' quote")
}
