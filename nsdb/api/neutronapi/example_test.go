package neutronapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/api/neutronapi"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
)

// A node serves the Neutron API beside the native one; clients send the
// token in X-Auth-Token.
func ExampleServer_Register() {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	store, _ := neutronstore.New(neutronstore.Config{NSDB: db})
	tokens, _ := api.ParseTokens(strings.NewReader("s3cret-token,alice,admin\n"))
	neutron, err := neutronapi.New(neutronapi.Config{Store: store, Tokens: tokens})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	neutron.Register(mux) // /v2.0/... and /v3/...
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/v2.0/networks", nil)
	req.Header.Set("X-Auth-Token", "s3cret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	// Output: 200 {"networks":[]}
}
