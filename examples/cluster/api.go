package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
)

// apiTokens are the API's bearer tokens.
type apiTokens = api.Tokens

// loadTokens reads the token file (CSV lines token,name,role).
func loadTokens(path string) (*apiTokens, error) { return api.LoadTokens(path) }

// newAPI returns the REST API's handler on the node's NSDB client:
// authenticated by t, or by nothing at all if insecure.
func newAPI(c nsdb.Client, t *apiTokens, insecure bool, log *slog.Logger, reg prometheus.Registerer) (http.Handler, error) {
	return api.New(api.Config{NSDB: c, Tokens: t, Insecure: insecure, Logger: log, Registerer: reg})
}
