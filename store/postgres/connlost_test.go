package postgres

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestConnLost: only errors of a pooled connection the server closed make a
// transaction start again; a failed new connection or an SQL error do not.
func TestConnLost(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true}, // admin_shutdown (restart)
		{fmt.Errorf("begin: %w", &pgconn.PgError{Code: "57P02"}), true},
		{io.ErrUnexpectedEOF, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.ConnectError{}, false},
		{errors.New("other"), false},
	} {
		if got := connLost(c.err); got != c.want {
			t.Errorf("connLost(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
