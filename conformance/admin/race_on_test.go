//go:build race

package admin_test

// raceEnabled: the race detector's shadow memory makes RSS measurements
// meaningless, so memory tests skip under -race.
const raceEnabled = true
