package session_test

import (
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
)

// A backend opens a session and ends it once, with the reason its owner
// reads from Err after Done is closed.
func ExampleNew() {
	s := session.New(7)
	var sess nsdb.Session = s
	fmt.Println(sess.ID(), sess.Err())
	s.End(nsdb.ErrSessionExpired)
	s.End(nsdb.ErrClosed) // too late: the first reason stays
	<-sess.Done()
	fmt.Println(sess.Err())
	// Output:
	// 7 <nil>
	// nsdb: session expired
}
