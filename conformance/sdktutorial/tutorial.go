// Package sdktutorial runs the tutorial of sdk/README.md: the commands and
// files of its tagged fenced blocks, in order, against a real Gatehouse
// node over 127.0.0.1, so the tutorial cannot drift from what works.
//
// The blocks:
//
//	```sh tutorial              commands, run with bash -e in the current folder
//	```sh tutorial:start        the command that starts the node (kept running)
//	```LANG tutorial:FILE       a file written to FILE in the current folder
//	```text tutorial:expect     lines the previous commands' output must contain
//
// Untagged blocks are prose for the reader. A `cd` in a block carries over
// to the next one, as in a terminal.
package sdktutorial

import (
	"bufio"
	"fmt"
	"strings"
)

// Block is one tagged block of the tutorial.
type Block struct {
	// Kind is "run", "start", "file" or "expect".
	Kind string
	// File is the file name of a "file" block.
	File string
	// Text is the block's content.
	Text string
	// Line is the block's first line in the README (1-based), for errors.
	Line int
}

// Parse returns the tagged blocks of a Markdown document, in order. An
// unterminated block or an unknown tutorial tag is an error.
func Parse(doc string) ([]Block, error) {
	var out []Block
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	var cur *Block
	var body strings.Builder
	fence := ""
	for sc.Scan() {
		line++
		l := sc.Text()
		trimmed := strings.TrimSpace(l)
		if fence == "" {
			if !strings.HasPrefix(trimmed, "```") {
				continue
			}
			fence = "```"
			info := strings.Fields(strings.TrimPrefix(trimmed, "```"))
			cur = nil
			for _, w := range info[min(1, len(info)):] {
				if w != "tutorial" && !strings.HasPrefix(w, "tutorial:") {
					continue
				}
				b := Block{Line: line + 1}
				switch tag := strings.TrimPrefix(strings.TrimPrefix(w, "tutorial"), ":"); tag {
				case "":
					b.Kind = "run"
				case "start", "expect":
					b.Kind = tag
				default:
					if strings.ContainsAny(tag, "/\\") || tag == "." || tag == ".." {
						return nil, fmt.Errorf("line %d: file %q: a plain file name only", line, tag)
					}
					b.Kind, b.File = "file", tag
				}
				cur = &b
			}
			body.Reset()
			continue
		}
		if trimmed == fence {
			fence = ""
			if cur != nil {
				cur.Text = body.String()
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		body.WriteString(l)
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("an unterminated code block")
	}
	return out, nil
}
