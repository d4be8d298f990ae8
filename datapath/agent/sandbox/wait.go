package sandbox

import (
	"context"
	"fmt"
	"time"
)

// pollInterval is how often Eventually and WaitEndpoint check their
// condition.
const pollInterval = 5 * time.Millisecond

func tick() <-chan time.Time { return time.After(pollInterval) }

// Eventually waits until cond holds or ctx ends; it returns an error
// naming what when ctx ends first.
func Eventually(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ErrTimeout, what)
		case <-tick():
		}
	}
	return nil
}
