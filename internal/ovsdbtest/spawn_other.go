//go:build !linux

package ovsdbtest

import "os/exec"

// Spawn starts cmd (see the Linux version); outside Linux nothing kills it
// when the test binary exits.
func Spawn(cmd *exec.Cmd) error { return spawn(cmd) }

// spawn starts cmd. Outside Linux there is no parent-death signal: servers
// are stopped by test cleanups and Main only.
func spawn(cmd *exec.Cmd) error { return cmd.Start() }

// processGone cannot tell outside Linux; stale directories are kept.
func processGone(pid int) bool { return false }
