package zookeeper

import "iter"

// subSet is the set of subs of one path. Almost every path has one sub:
// it is kept inline, and a map is made only for the others (an agent
// follows every object of the deployment, so a map per path would cost a
// few hundred bytes for each of them).
//
// Invariant: more is non-empty only while one is set.
type subSet struct {
	one  *sub
	more map[*sub]struct{}
}

func (ss *subSet) add(s *sub) {
	switch {
	case ss.one == nil:
		ss.one = s
	case ss.one != s:
		if ss.more == nil {
			ss.more = make(map[*sub]struct{}, 1)
		}
		ss.more[s] = struct{}{}
	}
}

// remove removes s and reports whether the set is now empty.
func (ss *subSet) remove(s *sub) bool {
	if ss.one == s {
		ss.one = nil
		for o := range ss.more { // promote any other sub
			ss.one = o
			delete(ss.more, o)
			break
		}
	} else {
		delete(ss.more, s)
	}
	return ss.one == nil
}

// all yields the subs.
func (ss *subSet) all() iter.Seq[*sub] {
	return func(yield func(*sub) bool) {
		if ss.one == nil || !yield(ss.one) {
			return
		}
		for s := range ss.more {
			if !yield(s) {
				return
			}
		}
	}
}
