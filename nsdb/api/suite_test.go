package api_test

import (
	"slices"
	"testing"
)

// The conformance suite: every case runs against a server on a fresh
// database of each backend (memory, and a real ZooKeeper server), and
// every request and response is validated against the OpenAPI document.

type suiteCase struct {
	name string
	fn   func(t *testing.T, e *env)
}

var suite = []suiteCase{
	{"ObjectsCRUD", testObjectsCRUD},
	{"DeleteBindings", testDeleteBindings},
	{"BadInputChangesNothing", testBadInput},
	{"EveryProblemListed", testEveryProblem},
	{"Auth", testAuth},
	{"Pagination", testPagination},
	{"ListFilters", testListFilters},
	{"Rules", testRules},
	{"HostAndPortStatus", testStatus},
	{"PoolMemberStatus", testPoolMemberStatus},
	{"BGPStatus", testBGPStatus},
	{"Tables", testTables},
	{"NATLeases", testNATLeases},
	{"ClusterStatus", testClusterStatus},
	{"Trace", testTrace},
	{"Apply", testApply},
	{"ApplyBadInput", testApplyBadInput},
	{"Watch", testWatch},
	{"VTEPs", testVTEPs},
	{"FlowStateKeys", testFlowStateKeys},
	{"MetricsAndLogs", testMetricsAndLogs},
	{"ProtocolErrors", testProtocolErrors},
	{"OpenAPIDocument", testOpenAPIDocument},
}

func runSuite(t *testing.T, b backend) {
	cov := &coverage{ops: map[string]bool{}}
	ran := 0
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			ran++
			tc.fn(t, newEnv(t, b, cov))
		})
	}
	if ran < len(suite) {
		return // a -run filter: coverage is partial
	}
	t.Run("EveryOperationValidated", func(t *testing.T) {
		var missing []string
		for _, item := range spec.doc.Paths.Map() {
			for _, op := range item.Operations() {
				if !cov.ops[op.OperationID] {
					missing = append(missing, op.OperationID)
				}
			}
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("no test validated a successful request and response of %v", missing)
		}
	})
}

func TestAPIMemory(t *testing.T) { runSuite(t, memoryBackend) }

func TestAPIZooKeeper(t *testing.T) { runSuite(t, zooKeeperBackend) }
