package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb"
)

// bootstrapFlowStateKeys creates the cluster's flow-state keys (package
// flowstate/auth) if no node or agent did yet: agents sign the state they
// push to each other with them. Rotation is POST /v1/flow-state-keys, or
// -rotate-flow-state-keys (rotateFlowStateKeys).
func bootstrapFlowStateKeys(ctx context.Context, client nsdb.Client, log *slog.Logger) error {
	sk, ok := client.(nsdb.SecretKeeper)
	if !ok {
		return fmt.Errorf("flow-state keys: the NSDB client (%T) keeps no secrets", client)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ks, created, err := auth.Ensure(ctx, sk.Secrets(), time.Now(), nil)
	if err != nil {
		return fmt.Errorf("flow-state keys: %w", err)
	}
	if created {
		log.Info("created the cluster's flow-state keys", "keys", ks.Info())
	} else {
		log.Info("the cluster's flow-state keys are in place", "keys", ks.Info())
	}
	return nil
}

// rotateFlowStateKeys rotates the cluster's flow-state keys (creating them
// if there are none), the new key signing after delay, and logs the
// result.
func rotateFlowStateKeys(ctx context.Context, client nsdb.Client, delay time.Duration, log *slog.Logger) error {
	sk, ok := client.(nsdb.SecretKeeper)
	if !ok {
		return fmt.Errorf("flow-state keys: the NSDB client (%T) keeps no secrets", client)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if delay == 0 {
		delay = time.Nanosecond // auth.Rotate reads 0 as its default
	}
	ks, err := auth.Rotate(ctx, sk.Secrets(), time.Now(), delay, nil)
	if errors.Is(err, auth.ErrNoKeys) {
		ks, _, err = auth.Ensure(ctx, sk.Secrets(), time.Now(), nil)
	}
	if err != nil {
		return fmt.Errorf("flow-state keys: %w", err)
	}
	signing, _ := ks.Signing(time.Now())
	log.Info("flow-state keys rotated", "keys", ks.Info(), "signing_now", signing.ID)
	return nil
}
