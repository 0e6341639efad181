package store

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Time-to-live, as Kong's DAO gives it to entities declared with ttl = true
// (key-auth credentials): a write may carry `ttl`, seconds the entity lives;
// reads show the seconds left and stop returning it once they run out.
//
// The stored document keeps the absolute expiry, in epoch seconds with
// millisecond precision, under expiresKey, a name no schema field can take;
// reads turn it back into `ttl`, the whole seconds left rounded up.

// MaxTTL is Kong's DAO_MAX_TTL.
const MaxTTL = 100000000

const expiresKey = "$expires_at"

// InvalidOptions is Kong's "invalid options" error (code 11) for the given
// option messages.
func InvalidOptions(options schema.Errors) *Error {
	return &Error{Code: CodeInvalidOptions, Message: "invalid option (" + strings.Join(options.Flatten(), "; ") + ")", Fields: options}
}

// takeTTL removes `ttl` from the input of a ttl entity and returns its value
// in seconds (0: none).
func takeTTL(in map[string]any) (int64, error) {
	raw, given := in["ttl"]
	delete(in, "ttl")
	if !given || raw == nil {
		return 0, nil
	}
	var f float64
	ok := true
	switch t := raw.(type) {
	case int64:
		f = float64(t)
	case int:
		f = float64(t)
	case float64:
		f = t
	case json.Number:
		var err error
		f, err = t.Float64()
		ok = err == nil
	case string:
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(t), 64)
		ok = err == nil
	default:
		ok = false
	}
	if !ok || math.IsNaN(f) || f != math.Trunc(f) || f < 0 || f > MaxTTL {
		return 0, InvalidOptions(schema.Errors{"ttl": "must be an integer between 0 and " + strconv.Itoa(MaxTTL)})
	}
	return int64(f), nil
}

// setExpiry records the expiry of a record written now with ttl seconds.
func setExpiry(rec map[string]any, ttl int64, now time.Time) {
	delete(rec, "ttl")
	delete(rec, expiresKey)
	if ttl > 0 {
		rec[expiresKey] = epoch(now) + float64(ttl)
	}
}

// epoch is t in seconds, to the millisecond.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// present turns a stored record of e into what reads return: the seconds
// left under `ttl` (null when the entity never expires). live is false once
// the entity has expired. Entities without ttl pass unchanged.
func (s *Store) present(e *Entity, rec map[string]any) (out map[string]any, live bool) {
	if e == nil || !e.TTL || rec == nil {
		return rec, true
	}
	exp, has := rec[expiresKey]
	delete(rec, expiresKey)
	rec["ttl"] = nil
	if !has {
		return rec, true
	}
	var at float64
	switch t := exp.(type) {
	case int64:
		at = float64(t)
	case float64:
		at = t
	}
	left := at - epoch(s.now())
	if left <= 0 {
		return rec, false
	}
	rec["ttl"] = int64(math.Ceil(left))
	return rec, true
}

// presentRow decodes a row of e and presents it; nil when it has expired.
func (s *Store) presentRow(e *Entity, row *Row) (map[string]any, error) {
	rec, err := decodeRow(row)
	if err != nil {
		return nil, err
	}
	rec, live := s.present(e, rec)
	if !live {
		return nil, nil
	}
	return rec, nil
}

// expiredRow reports whether a stored row of a ttl entity has expired.
func (s *Store) expiredRow(e *Entity, row *Row) bool {
	if !e.TTL {
		return false
	}
	rec, err := decodeRow(row)
	if err != nil {
		return false
	}
	_, live := s.present(e, rec)
	return !live
}

// PurgeExpired deletes the rows of a ttl entity whose time to live ran
// out (Kong's TTL cleanup timer) and returns how many it deleted. Reads
// hide such rows already; purging only reclaims their space, so no change
// event is published.
func (s *Store) PurgeExpired(ctx context.Context, entity string) (int, error) {
	e, err := s.entity(entity)
	if err != nil {
		return 0, err
	}
	if !e.TTL {
		return 0, nil
	}
	var ids []string
	err = s.backend.View(ctx, func(tx Tx) error {
		after := ""
		for {
			rows, err := tx.List(e.Name, RowQuery{AfterID: after, Limit: MaxPageSize})
			if err != nil {
				return err
			}
			for _, row := range rows {
				if s.expiredRow(e, row) {
					ids = append(ids, row.ID)
				}
			}
			if len(rows) < MaxPageSize {
				return nil
			}
			after = rows[len(rows)-1].ID
		}
	})
	if err != nil || len(ids) == 0 {
		return 0, wrapDB(err)
	}
	err = s.backend.Update(ctx, func(tx Tx) error {
		for _, id := range ids {
			if err := tx.Delete(e.Name, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrapDB(err)
	}
	return len(ids), nil
}
