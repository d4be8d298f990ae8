package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/api/neutronapi"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
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

// newNeutronStore returns the Neutron model's store on the node's NSDB
// client; provider names the provider router.
func newNeutronStore(c nsdb.Client, provider string, log *slog.Logger, reg prometheus.Registerer) (*neutronstore.Store, error) {
	return neutronstore.New(neutronstore.Config{NSDB: c, ProviderRouter: provider, Logger: log, Registerer: reg})
}

// registerNeutron serves the Neutron v2.0 API and the Keystone v3 token
// endpoint on mux, with the native API's tokens (or none, if insecure).
func registerNeutron(mux *http.ServeMux, s *neutronstore.Store, t *apiTokens, insecure bool, log *slog.Logger, reg prometheus.Registerer) error {
	h, err := neutronapi.New(neutronapi.Config{Store: s, Tokens: t, Insecure: insecure, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	h.Register(mux)
	return nil
}
