//go:build !race

package inproc

// raceEnabled: see race_on_test.go.
const raceEnabled = false
