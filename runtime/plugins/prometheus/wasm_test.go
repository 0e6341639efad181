package prometheus

import (
	"math"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// TestWasmMetrics: the filters' metrics are exported only once a
// configuration with wasm_metrics logged, under their names (made valid),
// merged across sources, histograms with cumulative buckets.
func TestWasmMetrics(t *testing.T) {
	SetWasmMetrics(func() []WasmMetric {
		return []WasmMetric{
			{Name: "pw_my-filter_hits", Type: "counter", Value: 3},
			{Name: "pw_my-filter_hits", Type: "counter", Value: 2},
			{Name: "pw_f_level", Type: "gauge", Value: 7},
			{Name: "pw_f_sizes", Type: "histogram", Value: 4, Sum: 30,
				Buckets: []WasmBucket{{UpperBound: 1, Count: 1}, {UpperBound: 8, Count: 2}, {UpperBound: math.Inf(1), Count: 1}}},
			{Name: "pw_f_level", Type: "counter", Value: 100}, // another type: dropped
			{Name: "%%%", Type: "counter", Value: 1},          // no valid name left
		}
	})
	t.Cleanup(func() { SetWasmMetrics(nil) })
	host := plugin.HostFunc(func() plugin.NodeStats { return plugin.NodeStats{} })
	m := NewMetrics()
	if mfs := scrape(t, Handler(m, host)); mfs["pw_my_filter_hits"] != nil {
		t.Fatal("wasm metrics exported without wasm_metrics")
	}
	m.Observe(Config{WasmMetrics: true}, record(200, "service", nil))
	mfs := scrape(t, Handler(m, host))
	tests := []struct {
		name string
		want float64
	}{{"pw_my_filter_hits", 5}, {"pw_f_level", 7}}
	for _, tt := range tests {
		mf := mfs[tt.name]
		if mf == nil || len(mf.Metric) != 1 {
			t.Fatalf("%s: %v", tt.name, mf)
		}
		v := mf.Metric[0].GetCounter().GetValue() + mf.Metric[0].GetGauge().GetValue()
		if v != tt.want {
			t.Fatalf("%s = %v, want %v", tt.name, v, tt.want)
		}
	}
	h := mfs["pw_f_sizes"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 4 || h.GetSampleSum() != 30 {
		t.Fatalf("histogram count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	want := map[float64]uint64{1: 1, 8: 3}
	for _, b := range h.Bucket {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Fatalf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	m.Observe(Config{}, record(200, "service", nil))
	if mfs := scrape(t, Handler(m, host)); mfs["pw_f_level"] != nil {
		t.Fatal("wasm metrics still exported once no configuration asks")
	}
}

func TestMetricName(t *testing.T) {
	for in, want := range map[string]string{"pw_a_b": "pw_a_b", "pw_my-filter_x.y": "pw_my_filter_x_y", "9lives": "_lives", "": "", "--": ""} {
		if got := metricName(in); got != want {
			t.Errorf("metricName(%q) = %q, want %q", in, got, want)
		}
	}
}
