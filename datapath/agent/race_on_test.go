//go:build race

package agent

// raceEnabled: the race detector is on. It makes sync.Pool drop a quarter
// of what is put back, at random, so allocation counts mean nothing then.
const raceEnabled = true
