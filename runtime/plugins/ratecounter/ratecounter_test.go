package ratecounter_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
)

func TestWindowStarts(t *testing.T) {
	now := time.Date(2024, 2, 29, 13, 45, 30, 0, time.UTC).Unix()
	got := ratecounter.WindowStarts(now)
	want := [6]time.Time{
		time.Date(2024, 2, 29, 13, 45, 30, 0, time.UTC),
		time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := range want {
		if got[i] != want[i].Unix() {
			t.Errorf("%s starts at %v, want %v", ratecounter.Periods[i], time.Unix(got[i], 0).UTC(), want[i])
		}
	}
	if ratecounter.PeriodIndex("day") != 3 || ratecounter.PeriodIndex("week") != -1 {
		t.Error("PeriodIndex")
	}
}

// stores returns the stores to test: Local always, Redis when the test
// server is there.
func stores(t *testing.T, now func() time.Time) map[string]ratecounter.Store {
	m := map[string]ratecounter.Store{"local": ratecounter.NewLocal(now)}
	if addr := os.Getenv("GATEHOUSE_TEST_REDIS_ADDR"); addr != "" {
		host, port, _ := cut(addr)
		p, _ := strconv.Atoi(port)
		r, err := ratecounter.NewRedis(ratecounter.RedisConfig{Host: host, Port: float64(p), Database: 5})
		if err != nil {
			t.Fatal(err)
		}
		m["redis"] = r
	}
	for _, s := range m {
		t.Cleanup(func() { s.Close() })
	}
	return m
}

func cut(addr string) (string, string, bool) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:], true
		}
	}
	return addr, "", false
}

func TestStores(t *testing.T) {
	var clock time.Time = time.Now()
	now := func() time.Time { return clock }
	for name, s := range stores(t, now) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			base := "test:" + strconv.FormatInt(time.Now().UnixNano(), 10)
			keys := []string{base + ":a", base + ":b"}
			got, err := s.Get(ctx, keys)
			if err != nil || got[0] != 0 || got[1] != 0 {
				t.Fatalf("empty Get = %v, %v", got, err)
			}
			for i, n := range []int64{3, 4} {
				if err := s.Add(ctx, keys[:i+1], n, []int64{60, 60}[:i+1]); err != nil {
					t.Fatal(err)
				}
			}
			got, err = s.Get(ctx, keys)
			if err != nil || got[0] != 7 || got[1] != 4 {
				t.Fatalf("Get = %v, %v; want [7 4]", got, err)
			}
		})
	}
	// Local counters end with their window.
	l := ratecounter.NewLocal(now)
	l.Add(context.Background(), []string{"k"}, 2, []int64{1})
	clock = clock.Add(2 * time.Second)
	if got, _ := l.Get(context.Background(), []string{"k"}); got[0] != 0 {
		t.Errorf("expired counter = %d", got[0])
	}
	l.Add(context.Background(), []string{"other"}, 1, []int64{60})
	clock = clock.Add(2 * time.Minute)
	l.Add(context.Background(), []string{"new"}, 1, []int64{60})
	if n := l.Len(); n != 1 {
		t.Errorf("%d counters live after a sweep, want 1", n)
	}
}

func TestRedisConfigClient(t *testing.T) {
	if _, err := (ratecounter.RedisConfig{Host: "h"}).NewClient(); err == nil {
		t.Error("a record without port gave a client")
	}
	c, err := ratecounter.RedisConfig{Host: "example.com", Port: 6380, Database: 2, Timeout: 150, SSL: true, Username: "u", Password: "p"}.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.Options()
	if o.Addr != "example.com:6380" || o.DB != 2 || o.ReadTimeout != 150*time.Millisecond || o.Username != "u" || o.Password != "p" ||
		o.TLSConfig == nil || !o.TLSConfig.InsecureSkipVerify || o.TLSConfig.ServerName != "example.com" {
		t.Errorf("options = %+v", o)
	}
	if d := (ratecounter.RedisConfig{}).TimeoutDuration(); d != 2*time.Second {
		t.Errorf("default timeout %v", d)
	}
}
