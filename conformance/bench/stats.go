package main

import (
	"fmt"
	"math"
	"sort"
)

// noiseLimit is the noise rule: a figure counts as measured only when every
// round lies within ±5 % of the rounds' median.
const noiseLimit = 5.0

// Figure is one figure over the rounds: the median, the lowest and highest
// round, and the spread (the farthest round from the median, in % of the
// median).
type Figure struct {
	Median    float64   `json:"median"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	SpreadPct float64   `json:"spread_pct"`
	Rounds    []float64 `json:"rounds"`
	// Noisy is set when SpreadPct exceeds noiseLimit: the figure is
	// reported, not counted as measured.
	Noisy bool `json:"noisy"`
}

// newFigure summarises the per-round values v (values that are not finite
// numbers, such as a ratio with a zero denominator, are left out).
func newFigure(v []float64) Figure {
	var s []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s = append(s, x)
		}
	}
	f := Figure{Rounds: append([]float64(nil), s...)}
	if len(s) == 0 {
		return f
	}
	sort.Float64s(s)
	f.Min, f.Max, f.Median = s[0], s[len(s)-1], median(s)
	if f.Median != 0 {
		f.SpreadPct = math.Max(f.Max-f.Median, f.Median-f.Min) / math.Abs(f.Median) * 100
	}
	f.Noisy = len(s) > 1 && f.SpreadPct > noiseLimit
	return f
}

// measured says whether the figure has a value at all.
func (f Figure) measured() bool { return len(f.Rounds) > 0 }

// spread prints the range and the spread around the median, or "one run".
func (f Figure) spread(format string) string {
	switch len(f.Rounds) {
	case 0:
		return ""
	case 1:
		return "one run"
	}
	return fmt.Sprintf(format+"–"+format+" ±%.1f %%", f.Min, f.Max, f.SpreadPct)
}

// median is the middle value of v (the mean of the two middle values for
// an even count); 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
