package zookeeper

import "time"

// DefaultPlanIndexIdle is Config.PlanIndexIdle's default.
const DefaultPlanIndexIdle = time.Minute

// planning records that a commit is being planned and arms the timer that
// drops the planner's indexes after indexIdle without commits. oc.mu is
// held.
func (oc *objectCache) planning() {
	oc.planned = time.Now()
	if oc.shrink == nil && oc.indexIdle > 0 {
		oc.shrink = time.AfterFunc(oc.indexIdle, oc.shrinkIndex)
	}
}

// shrinkIndex drops the planner's indexes if no commit was planned for
// indexIdle, else waits for the rest.
func (oc *objectCache) shrinkIndex() {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if rest := oc.indexIdle - time.Since(oc.planned); rest > 0 {
		oc.shrink.Reset(rest)
		return
	}
	oc.shrink = nil
	oc.idx.Shrink()
}
