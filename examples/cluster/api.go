package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
)

// apiTokens are the API's bearer tokens.
type apiTokens struct{}

var errNoAPI = errors.New("the REST API (package nsdb/api) is not merged yet")

// loadTokens reads the token file.
func loadTokens(path string) (*apiTokens, error) { return nil, errNoAPI }

// newAPI returns the REST API's handler.
func newAPI(c nsdb.Client, t *apiTokens, log *slog.Logger, reg prometheus.Registerer) (http.Handler, error) {
	return nil, errNoAPI
}
