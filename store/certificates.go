package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/gatehouse/gatehouse/store/schema"
)

// takeSNIs is the certificates' TakeInput: it removes the `snis` shorthand
// (the SNI names the certificate serves) from the input, and returns the
// follow-up that makes them the certificate's SNIs.
func takeSNIs(in map[string]any) (FollowUp, error) {
	raw, ok := in["snis"]
	if !ok {
		return nil, nil
	}
	delete(in, "snis")
	var list []any
	switch t := raw.(type) {
	case nil:
	case []any:
		list = t
	case string:
		list = []any{t}
	default:
		return nil, SchemaViolation(schema.Errors{"snis": "expected an array"})
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(list))
	for _, v := range list {
		n, ok := v.(string)
		if !ok {
			return nil, SchemaViolation(schema.Errors{"snis": "expected an array of strings"})
		}
		if seen[n] {
			return nil, SchemaViolation(schema.Errors{"snis": n + " is duplicated"})
		}
		seen[n] = true
		names = append(names, n)
	}
	return func(s *Store, tx Tx, id string) ([]Event, error) {
		return s.setCertificateSNIs(tx, id, names)
	}, nil
}

// setCertificateSNIs makes the certificate's SNIs exactly names.
func (s *Store) setCertificateSNIs(tx Tx, certID string, names []string) ([]Event, error) {
	sniEntity, _ := s.registry.Entity("snis")
	rows, err := tx.List("snis", RowQuery{RefField: "certificate", RefID: certID, Limit: MaxPageSize})
	if err != nil {
		return nil, wrapDB(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var events []Event
	for _, row := range rows {
		rec, err := decodeRow(row)
		if err != nil {
			return nil, err
		}
		name, _ := rec["name"].(string)
		if want[name] {
			delete(want, name)
			continue
		}
		if err := tx.Delete("snis", row.ID); err != nil {
			return nil, wrapDB(err)
		}
		events = append(events, Event{Entity: "snis", Op: OpDelete, Old: rec})
	}
	for _, n := range names {
		if !want[n] {
			continue
		}
		if row, err := tx.GetUnique("snis", "name", n); err != nil {
			return nil, wrapDB(err)
		} else if row != nil {
			other, _ := decodeRow(row)
			return nil, SchemaViolation(schema.Errors{"snis": fmt.Sprintf("%s already associated with existing certificate '%s'", n, foreignID(other["certificate"]))})
		}
		rec, err := s.prepare(tx, sniEntity, nil, map[string]any{"name": n, "certificate": map[string]any{"id": certID}}, modeInsert, false)
		if err != nil {
			return nil, err
		}
		row, err := s.toRow(sniEntity, rec)
		if err != nil {
			return nil, err
		}
		if err := tx.Insert(row); err != nil {
			return nil, wrapDB(err)
		}
		events = append(events, Event{Entity: "snis", Op: OpCreate, New: rec})
	}
	return events, nil
}

// CertificateSNIs returns the sorted SNI names of a certificate, the `snis`
// Kong shows on every certificate it returns.
func (s *Store) CertificateSNIs(ctx context.Context, certID string) ([]string, error) {
	names := []string{}
	err := s.backend.View(ctx, func(tx Tx) error {
		rows, err := tx.List("snis", RowQuery{RefField: "certificate", RefID: certID, Limit: MaxPageSize})
		if err != nil {
			return wrapDB(err)
		}
		for _, row := range rows {
			rec, err := decodeRow(row)
			if err != nil {
				return err
			}
			if n, ok := rec["name"].(string); ok {
				names = append(names, n)
			}
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// caCertificateInUse refuses the removal of a CA certificate that a
// service, or a plugin's config, still lists in its ca_certificates, as
// Kong's ca_certificates DAO does (the list is not a foreign key, so the
// reference index does not know it). It is the ca_certificates'
// BeforeDelete.
func caCertificateInUse(tx Tx, ca map[string]any) error {
	id, _ := ca["id"].(string)
	for _, entity := range []string{"services", "plugins"} {
		after := ""
		for {
			rows, err := tx.List(entity, RowQuery{AfterID: after, Limit: MaxPageSize})
			if err != nil {
				return wrapDB(err)
			}
			for _, row := range rows {
				rec, err := decodeRow(row)
				if err != nil {
					return err
				}
				list := rec["ca_certificates"]
				if entity == "plugins" {
					cfg, _ := rec["config"].(map[string]any)
					list = cfg["ca_certificates"]
				}
				ids, _ := list.([]any)
				for _, v := range ids {
					if v == id {
						return &Error{Code: CodeReferencedByOthers,
							Message: fmt.Sprintf("ca certificate %s is still referenced by %s (id = %s)", id, entity, rec["id"])}
					}
				}
			}
			if len(rows) < MaxPageSize {
				break
			}
			after = rows[len(rows)-1].ID
		}
	}
	return nil
}
