package balancer

import (
	"fmt"
	"testing"
)

func benchTargets(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = tgt(fmt.Sprint(i), fmt.Sprintf("127.0.0.%d:8000", i+1), int64(10*(i%3+1)))
	}
	return out
}

func BenchmarkPickRoundRobin(b *testing.B) {
	bl := mustNew(b, map[string]any{"name": "u"}, benchTargets(8), Options{})
	b.ReportAllocs()
	for b.Loop() {
		p, err := bl.Pick(nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		bl.Report(p, Result{Status: 200})
	}
}

func BenchmarkPickConsistentHash(b *testing.B) {
	bl := mustNew(b, map[string]any{"name": "u", "algorithm": "consistent-hashing", "hash_on": "ip"}, benchTargets(8), Options{})
	ips := make([]string, 1024)
	for i := range ips {
		ips[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := HashInput{ClientIP: ips[i&1023]}
		i++
		p, err := bl.Pick(&in, nil)
		if err != nil {
			b.Fatal(err)
		}
		bl.Report(p, Result{Status: 200})
	}
}

func BenchmarkPickLeastConnections(b *testing.B) {
	bl := mustNew(b, map[string]any{"name": "u", "algorithm": "least-connections"}, benchTargets(8), Options{})
	b.ReportAllocs()
	for b.Loop() {
		p, err := bl.Pick(nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		bl.Report(p, Result{Status: 200})
	}
}

func BenchmarkPickLatency(b *testing.B) {
	bl := mustNew(b, map[string]any{"name": "u", "algorithm": "latency"}, benchTargets(8), Options{})
	b.ReportAllocs()
	for b.Loop() {
		p, err := bl.Pick(nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		bl.Report(p, Result{Status: 200, Latency: 1000})
	}
}

func BenchmarkPickRoundRobinParallel(b *testing.B) {
	bl := mustNew(b, map[string]any{"name": "u"}, benchTargets(8), Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := bl.Pick(nil, nil)
			if err != nil {
				b.Error(err)
				return
			}
			bl.Report(p, Result{Status: 200})
		}
	})
}
