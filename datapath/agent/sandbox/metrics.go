package sandbox

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// registered registers an agent's metrics and remembers them, so that
// they are unregistered when the agent stops and the host's next agent
// registers its own.
type registered struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	cs  []prometheus.Collector
}

var _ prometheus.Registerer = (*registered)(nil)

func (r *registered) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

func (r *registered) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *registered) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// unregisterAll unregisters every collector registered through r.
func (r *registered) unregisterAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cs {
		r.reg.Unregister(c)
	}
	r.cs = nil
}
