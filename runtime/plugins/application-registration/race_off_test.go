//go:build !race

package appreg_test

const raceEnabled = false
