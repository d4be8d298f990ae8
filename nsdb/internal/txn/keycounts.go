package txn

// keyCounts counts, for one ID (or name), the keys of the objects that refer to it
// (or hold it). Most IDs have exactly one: it is kept inline, and a map is
// made only for the others. An index holds one per referenced ID, so a
// map per ID would cost a few hundred bytes for each object of the
// deployment.
//
// Invariant: more is non-empty only while n > 0.
type keyCounts struct {
	one  Key
	n    int
	more map[Key]int
}

// add adds d (which may be negative) to k's count; keys whose count falls
// to zero or below are removed.
func (c *keyCounts) add(k Key, d int) {
	switch {
	case c.n > 0 && c.one == k:
		c.n += d
		if c.n <= 0 {
			c.n = 0
			for mk, mn := range c.more { // promote any other key
				c.one, c.n = mk, mn
				delete(c.more, mk)
				break
			}
		}
	case c.n == 0:
		if d > 0 {
			c.one, c.n = k, d
		}
	default:
		if c.more[k]+d <= 0 {
			delete(c.more, k)
			return
		}
		if c.more == nil {
			c.more = make(map[Key]int, 1)
		}
		c.more[k] += d
	}
}

// len returns the number of distinct keys.
func (c *keyCounts) len() int {
	if c.n == 0 {
		return 0
	}
	return 1 + len(c.more)
}

// appendKeys appends the keys to out.
func (c *keyCounts) appendKeys(out []Key) []Key {
	if c.n == 0 {
		return out
	}
	out = append(out, c.one)
	for k := range c.more {
		out = append(out, k)
	}
	return out
}

// bump adds d to k's count in id's entry of m, removing the entry when it
// no longer counts any key.
func bump[I comparable](m map[I]keyCounts, id I, k Key, d int) {
	c := m[id]
	c.add(k, d)
	if c.n == 0 {
		delete(m, id)
		return
	}
	m[id] = c
}
