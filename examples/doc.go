// Package examples holds thin commands that assemble hivenet's packages: each
// sub-directory is a main package (configuration, wiring, signals) whose logic
// lives in importable library packages. The exceptions are topologies/, the
// shipped topology files, and topologytest/, the test of a topology that the
// README's "Test your controller's topology" shows for users to copy.
package examples
