//go:build !linux

package zkserver

import "os/exec"

// spawn starts cmd. Outside Linux there is no parent-death signal: servers
// are stopped by their owner only.
func spawn(cmd *exec.Cmd) error { return cmd.Start() }
