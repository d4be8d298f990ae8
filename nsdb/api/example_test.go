package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/memory"
)

// An API server on an in-memory NSDB: an admin creates a bridge, then a
// port on it bound to a host that does not exist, which is refused with a
// problem naming the field.
func ExampleNew() {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	tokens, err := api.ParseTokens(strings.NewReader("0123456789abcdef-alice,alice,admin\n"))
	if err != nil {
		panic(err)
	}
	srv, err := api.New(api.Config{NSDB: db, Tokens: tokens})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	post := func(path, body string) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer 0123456789abcdef-alice")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		fmt.Println(strings.TrimSpace(res.Status + " " + res.Header.Get("ETag")))
		fmt.Println(string(b))
	}
	post("/v1/bridges", `{"name": "net1"}`)
	post("/v1/ports", `{"name": "vm1", "bridge": "net1", "host": "host-a", "interface": "tap-vm1"}`)
	// Output:
	// 201 Created "1"
	// {"id":"f8bc29d1-37a7-515e-9704-2c2ef24afdfa","name":"net1"}
	// 422 Unprocessable Entity
	// {"type":"urn:hivenet:problem:invalid","title":"Invalid request","status":422,"detail":"the body has 1 problem","instance":"/v1/ports","errors":[{"in":"body","field":"host","pointer":"/host","class":"dangling-reference","detail":"host \"host-a\" not found"}]}
}
