package snapshot

import (
	"time"

	"github.com/gatehouse/gatehouse/runtime/threat"
)

// The denied client addresses of a snapshot: the denied_ips entities as a
// threat.IPSet the proxy consults before any plugin runs. Expiry is
// checked per request, so an entry stops applying at its expires_at
// without a rebuild. An entry whose ip does not parse (the store refuses
// those) is logged and skipped.

// buildDeniedIPs builds the snapshot's set.
func (b *Builder) buildDeniedIPs(recs []map[string]any) *threat.IPSet {
	entries := make([]threat.Denied, 0, len(recs))
	for _, r := range recs {
		pfx, err := threat.ParsePrefix(str(r, "ip"))
		if err != nil {
			b.log.Error("denied_ips entry skipped", "id", str(r, "id"), "error", err)
			continue
		}
		d := threat.Denied{ID: str(r, "id"), Prefix: pfx, Reason: str(r, "reason")}
		if exp, ok := epoch(r["expires_at"]); ok {
			d.ExpiresAt = time.Unix(exp, 0)
		}
		entries = append(entries, d)
	}
	return threat.NewIPSet(entries)
}

// epoch reads an epoch-seconds value as the store returns it.
func epoch(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
