//go:build !linux

package proc

import "os/exec"

// Spawn starts cmd. Outside Linux there is no parent-death signal: children
// are stopped by their owner only.
func Spawn(cmd *exec.Cmd) error { return cmd.Start() }

// Gone cannot tell outside Linux: it reports false.
func Gone(pid int) bool { return false }
