package validate_test

import (
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
)

// A backend checks its arguments first and returns the error as it is: it
// wraps nsdb.ErrInvalid.
func ExampleScope() {
	segs, err := validate.Scope("nat/router-1/192.0.2.1")
	fmt.Println(segs, err)
	_, err = validate.Scope("nat/../x")
	fmt.Println(errors.Is(err, nsdb.ErrInvalid))
	// Output:
	// [nat router-1 192.0.2.1] <nil>
	// true
}
