package store

import (
	"context"
	"testing"
)

func TestActorContext(t *testing.T) {
	alice := Actor{ID: "3f0c2a4e-6b1d-4f5e-9a8b-0c1d2e3f4a5b", Name: "alice"}
	tests := []struct {
		name string
		ctx  context.Context
		want Actor
		anon bool
	}{
		{"none carried", context.Background(), Anonymous, true},
		{"carried", WithActor(context.Background(), alice), alice, false},
		{"innermost wins", WithActor(WithActor(context.Background(), Anonymous), alice), alice, false},
		{"survives derived contexts", WithTypedInput(WithActor(context.Background(), alice)), alice, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ActorFrom(tt.ctx)
			if got != tt.want {
				t.Fatalf("ActorFrom = %+v, want %+v", got, tt.want)
			}
			if got.IsAnonymous() != tt.anon {
				t.Fatalf("IsAnonymous = %v, want %v", got.IsAnonymous(), tt.anon)
			}
		})
	}
}
