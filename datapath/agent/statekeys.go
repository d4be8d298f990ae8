package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb"
)

// loadKeys reads the cluster's flow-state keys from the NSDB (creating
// them if there are none) when the agent keeps flow state and was given no
// keyring, and keeps them fresh until ctx ends.
func (a *Agent) loadKeys(ctx context.Context, wg *sync.WaitGroup) error {
	if !a.ownKeys {
		return nil
	}
	sk, ok := a.db.(nsdb.SecretKeeper)
	if !ok {
		return fmt.Errorf("%w: the NSDB client (%T) keeps no secrets, so flow state cannot be authenticated: set FlowStateKeys", ErrConfig, a.db)
	}
	ks, created, err := auth.Ensure(ctx, sk.Secrets(), a.now(), nil)
	if err != nil {
		return fmt.Errorf("agent: flow-state keys: %w", err)
	}
	if created {
		a.log.Info("created the cluster's flow-state keys (no cluster node had)", "keys", ks.Info())
	}
	if _, err := a.keys.Refresh(ctx, sk.Secrets()); err != nil {
		return fmt.Errorf("agent: flow-state keys: %w", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.keys.Run(ctx, sk.Secrets(), a.cfg.FlowStateKeyRefresh, a.log)
	}()
	return nil
}

// FlowStateKeys returns the keyring that authenticates this agent's flow
// state: Config.FlowStateKeys, or the one it reads from the NSDB; nil for
// an agent without flow state.
func (a *Agent) FlowStateKeys() *auth.Keyring { return a.keys }
