package watch

// Registry records, for each item of a backend (an object, a kind, a state
// key...), the watches subscribed to it, so that a change of the item is
// pushed to exactly those. It is not safe for concurrent use: the backend's
// lock guards it. The zero Registry is empty and ready to use.
type Registry[A comparable, W comparable] struct {
	m map[A]map[W]struct{}
}

// Add subscribes w to item a.
func (r *Registry[A, W]) Add(a A, w W) {
	if r.m == nil {
		r.m = make(map[A]map[W]struct{})
	}
	ws := r.m[a]
	if ws == nil {
		ws = make(map[W]struct{})
		r.m[a] = ws
	}
	ws[w] = struct{}{}
}

// Remove unsubscribes w from item a, forgetting a once no watch is left.
func (r *Registry[A, W]) Remove(a A, w W) {
	ws := r.m[a]
	delete(ws, w)
	if len(ws) == 0 {
		delete(r.m, a)
	}
}

// Of returns the watches subscribed to a, for ranging over; the caller must
// not modify it.
func (r *Registry[A, W]) Of(a A) map[W]struct{} { return r.m[a] }
