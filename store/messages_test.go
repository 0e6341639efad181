package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

type recordingBroadcaster struct{ sent []string }

func (r *recordingBroadcaster) Broadcast(_ context.Context, channel, data string) error {
	r.sent = append(r.sent, channel+"="+data)
	return nil
}

func TestMessages(t *testing.T) {
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := store.New(b, store.Options{})
	// A node alone has no one to tell.
	if err := s.Broadcast(context.Background(), "c", "d"); err != nil {
		t.Fatal(err)
	}
	rec := &recordingBroadcaster{}
	s.SetBroadcaster(rec)
	if err := s.Broadcast(context.Background(), "c", "d"); err != nil || fmt.Sprint(rec.sent) != "[c=d]" {
		t.Fatalf("sent %v, %v", rec.sent, err)
	}
	var got []string
	cancel := s.Bus().OnMessage("c", func(d string) { got = append(got, "1:"+d) })
	s.Bus().OnMessage("c", func(d string) { got = append(got, "2:"+d) })
	s.Bus().OnMessage("other", func(d string) { got = append(got, "other:"+d) })
	var events int
	s.Bus().Subscribe(func(store.Event) { events++ })
	s.Bus().Deliver("c", "x")
	cancel()
	s.Bus().Deliver("c", "y")
	if fmt.Sprint(got) != "[1:x 2:x 2:y]" || events != 0 {
		t.Fatalf("delivered %v, %d change events", got, events)
	}
}
