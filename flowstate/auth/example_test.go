package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb/memory"
)

// A cluster node creates the keys at its first start; agents read them
// into a keyring and sign and verify their flow-state messages with it.
func Example() {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	ctx := context.Background()
	now := time.Now()
	if _, _, err := auth.Ensure(ctx, db.Secrets(), now, nil); err != nil {
		fmt.Println(err)
		return
	}

	ring := auth.NewKeyring(auth.KeySet{})
	if _, err := ring.Refresh(ctx, db.Secrets()); err != nil {
		fmt.Println(err)
		return
	}
	sender, receiver := ring.NewMAC(), ring.NewMAC()
	msg, _ := sender.Seal([]byte("flow state"), 0, auth.FlowStateMessage, nil, now)
	payload, err := receiver.Open(msg, auth.FlowStateMessage, nil, now)
	fmt.Printf("%q %v\n", payload, err)

	msg[0] ^= 1 // tampered
	_, err = receiver.Open(msg, auth.FlowStateMessage, nil, now)
	fmt.Println(auth.Reason(err))
	// Output:
	// "flow state" <nil>
	// bad-mac
}
