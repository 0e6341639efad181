package store

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/store/schema"
)

// TagPage is one page of `GET /tags`.
type TagPage struct {
	Data   []TagRow
	Offset string
}

// ListTags returns a page of (entity, id, tag) triples, optionally for one tag.
func (s *Store) ListTags(ctx context.Context, tag string, size int, offset string) (*TagPage, error) {
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		return nil, InvalidSize(fmt.Sprintf("size must be an integer between 1 and %d", MaxPageSize))
	}
	var after *TagRow
	if offset != "" {
		parts, err := DecodeOffset(offset)
		if err != nil || len(parts) != 3 {
			return nil, InvalidOffset(offset)
		}
		after = &TagRow{Tag: parts[0], Entity: parts[1], ID: parts[2]}
	}
	page := &TagPage{Data: []TagRow{}}
	if schema.CheckText(tag) != "" {
		return page, nil
	}
	err := s.backend.View(ctx, func(tx Tx) error {
		rows, err := tx.Tags(tag, after, size+1)
		if err != nil {
			return wrapDB(err)
		}
		if len(rows) > size {
			last := rows[size-1]
			page.Offset = EncodeOffset(last.Tag, last.Entity, last.ID)
			rows = rows[:size]
		}
		page.Data = rows
		return nil
	})
	return page, err
}
