package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// newAPI returns the REST API's handler.
func newAPI(o *options, log *slog.Logger, reg prometheus.Registerer) (http.Handler, error) {
	return nil, errors.New("the REST API (package nsdb/api) is not merged yet")
}
