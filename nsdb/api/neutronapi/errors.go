package neutronapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/topology/neutron"
)

// apiError is an error answered as Neutron answers it:
// {"NeutronError": {"type": ..., "message": ..., "detail": ""}}.
type apiError struct {
	status  int
	typ     string
	message string
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func newError(status int, typ, message string) *apiError {
	return &apiError{status: status, typ: typ, message: message}
}

// errorOf maps an error to the status, type and message Neutron would
// answer; server-side failures are 500s whose message hides the cause.
func errorOf(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	var ne *neutron.Error
	if errors.As(err, &ne) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(ne.Class, neutron.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(ne.Class, neutron.ErrConflict):
			status = http.StatusConflict
		}
		return newError(status, ne.Type, ne.Message), true
	}
	if errors.Is(err, errBody) {
		return newError(http.StatusBadRequest, "HTTPBadRequest", err.Error()), true
	}
	if errors.Is(err, neutronstore.ErrContended) {
		return newError(http.StatusServiceUnavailable, "HTTPServiceUnavailable", "Too many concurrent writes: retry."), true
	}
	return newError(http.StatusInternalServerError, "HTTPInternalServerError", "Request Failed: internal server error while processing your request."), false
}

func writeError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(map[string]any{"NeutronError": map[string]string{"type": e.typ, "message": e.message, "detail": ""}})
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
