package nsdbtest

// Suites still to be written; Run skips empty groups.
var (
	tableTests    []test
	keyTests      []test
	electionTests []test
	sequenceTests []test
)
