// Package examples holds thin commands that assemble hivenet's packages: each
// sub-directory is a main package (configuration, wiring, signals) whose logic
// lives in importable library packages.
package examples
