package proc

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Stop sends sig to p, whose exit closes done, and waits for it to exit;
// after timeout it kills p (SIGKILL) and waits again. A process already
// gone is not an error.
func Stop(p *os.Process, done <-chan struct{}, sig syscall.Signal, timeout time.Duration) error {
	select {
	case <-done:
		return nil
	default:
	}
	if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill: %w", err)
	}
	<-done
	return nil
}
