//go:build linux

package proc

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// On Linux, PR_SET_PDEATHSIG delivers the signal when the *thread* that
// forked the child exits, not the process. Go may retire threads, so every
// server is forked from one goroutine locked to its thread for the life of
// the process: the servers then die exactly when this process does.

type spawnReq struct {
	cmd *exec.Cmd
	res chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

func spawner() {
	runtime.LockOSThread() // never unlocked: the thread lives as long as the process
	for r := range spawnCh {
		r.res <- r.cmd.Start()
	}
}

// Spawn starts cmd so that the kernel kills it when this process exits.
func Spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go spawner()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	r := spawnReq{cmd: cmd, res: make(chan error, 1)}
	spawnCh <- r
	return <-r.res
}

// Gone reports whether no process has the given pid.
func Gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
