// Package neutronstore keeps the OpenStack Neutron model in the NSDB: each
// Neutron object as a document (topology.NeutronDoc, one per object, its
// JSON as package topology/neutron defines it) beside the native objects
// it translates to.
//
// Every write is one NSDB transaction: the changed documents, the
// difference between the translations of the model before and after
// (neutron.Diff: puts, then deletes referrers first), and a translation
// state document — the provider router and the hosts the translation was
// made with — updated at the version read, which serializes writers across
// processes (a lost race is retried). Deleting every Neutron object deletes
// every object its translation made, and the state document with them, so
// the store is left as it was. The state tables' seeds (MAC and IPv4-MAC
// entries of ports and floating IPs) follow each commit as persistent
// entries: tables are not part of NSDB transactions.
//
// Documents rather than new topology kinds per Neutron resource: the
// device model stays Neutron-free (agents, snapshots and topology files
// never see a Neutron object), while one topology kind, KindNeutron, is
// enough for the documents to be written in the same transaction as their
// translation, with versions and watches like any object.
//
// # Why it lives here
//
// It is the NSDB side of the Neutron model: it builds on nsdb and the pure
// translation in topology/neutron, and the Neutron REST API
// (nsdb/api/neutronapi) builds on it.
package neutronstore
