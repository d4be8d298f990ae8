package api_test

import "testing"

func testAuth(t *testing.T, e *env)            {}
func testPagination(t *testing.T, e *env)      {}
func testListFilters(t *testing.T, e *env)     {}
func testRules(t *testing.T, e *env)           {}
func testStatus(t *testing.T, e *env)          {}
func testTables(t *testing.T, e *env)          {}
func testMetricsAndLogs(t *testing.T, e *env)  {}
func testProtocolErrors(t *testing.T, e *env)  {}
func testOpenAPIDocument(t *testing.T, e *env) {}
