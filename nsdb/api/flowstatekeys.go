package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/nsdb"
)

// The cluster's flow-state keys (package flowstate/auth): agents sign the
// connection-tracking and NAT state they push to each other with them.
// The API shows the keys' IDs and times, never their secrets, and rotates
// them.

// maxActivationDelay bounds a rotation's activation delay.
const maxActivationDelay = time.Hour

func (s *Server) flowStateKeyRoutes() []*route {
	resp := schemaRef("FlowStateKeys")
	return []*route{
		{name: "getFlowStateKeys", method: http.MethodGet, path: "/v1/flow-state-keys", tag: "security",
			summary: "The cluster's flow-state keys (IDs and times, not secrets) and the one senders sign with now",
			status:  http.StatusOK, resp: resp, errors: []int{404}, h: s.getFlowStateKeys},
		{name: "rotateFlowStateKeys", method: http.MethodPost, path: "/v1/flow-state-keys", tag: "security", write: true,
			summary: "Rotate the flow-state key (create it if there is none): the new key signs after the activation delay, the previous one stays valid",
			params: []param{{name: "activation-delay", schema: schema{"type": "string", "pattern": "^[0-9][0-9a-z.]*$"},
				desc: "how long agents have to read the new key before it signs (a Go duration, at most 1h; default 30s)"}},
			status: http.StatusOK, resp: resp, errors: []int{400, 409}, h: s.rotateFlowStateKeys},
	}
}

type flowStateKeysJSON struct {
	Keys    []auth.KeyInfo `json:"keys"`
	Signing uint32         `json:"signing"`
}

func (s *Server) secrets() (nsdb.Secrets, error) {
	sk, ok := s.db.(nsdb.SecretKeeper)
	if !ok {
		return nil, newProblem(http.StatusServiceUnavailable, classUnavailable, "this NSDB keeps no secrets")
	}
	return sk.Secrets(), nil
}

func (s *Server) writeFlowStateKeys(w http.ResponseWriter, ks auth.KeySet) {
	k, _ := ks.Signing(s.now())
	writeJSON(w, http.StatusOK, appendJSONValue(nil, flowStateKeysJSON{Keys: ks.Info(), Signing: k.ID}), nsdb.AnyVersion)
}

func (s *Server) getFlowStateKeys(w http.ResponseWriter, r *http.Request) error {
	sec, err := s.secrets()
	if err != nil {
		return err
	}
	ks, _, err := auth.Load(r.Context(), sec)
	if errors.Is(err, auth.ErrNoKeys) {
		return newProblem(http.StatusNotFound, classNotFound, "no flow-state keys yet: a cluster node or an agent creates them at its start, or POST here")
	}
	if err != nil {
		return err
	}
	s.writeFlowStateKeys(w, ks)
	return nil
}

func (s *Server) rotateFlowStateKeys(w http.ResponseWriter, r *http.Request) error {
	var delay time.Duration
	if v := r.URL.Query().Get("activation-delay"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxActivationDelay {
			return newProblem(http.StatusBadRequest, classBadRequest, "activation-delay: want a duration from 0s to 1h, like 30s")
		}
		delay = d
	}
	sec, err := s.secrets()
	if err != nil {
		return err
	}
	ks, err := auth.Rotate(r.Context(), sec, s.now(), delay, nil)
	if errors.Is(err, auth.ErrNoKeys) {
		ks, _, err = auth.Ensure(r.Context(), sec, s.now(), nil)
	}
	if errors.Is(err, auth.ErrRotationPending) {
		return newProblem(http.StatusConflict, classConflict, err.Error()+": rotate again once it is active")
	}
	if err != nil {
		return err
	}
	s.log.Info("api: flow-state keys rotated", "keys", ks.Info())
	s.writeFlowStateKeys(w, ks)
	return nil
}

// flowStateKeySchemas returns the schemas of the flow-state keys' routes.
func flowStateKeySchemas() map[string]schema {
	t := schema{"type": "string", "format": "date-time"}
	id := schema{"type": "integer", "minimum": 0}
	return map[string]schema{
		"FlowStateKeys": object("The cluster's flow-state keys, newest first (at most two: the current and the previous), without their secrets.", schema{
			"keys":    array(schemaRef("FlowStateKey"), "newest first"),
			"signing": id}, "keys", "signing"),
		"FlowStateKey": object("One flow-state key: receivers accept it as soon as they have it, senders sign with it from active-from.", schema{
			"id": id, "created": t, "active-from": t}, "id", "created", "active-from"),
	}
}
