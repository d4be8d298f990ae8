// Package topologies holds the example topology files, embedded, and the
// loader the example commands share: a file from disk ("-f FILE"), from
// standard input ("-f -"), or one of these examples by name, read up to a
// size limit so that no input can exhaust memory.
//
// The files are embedded so that the commands work from any directory.
package topologies

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// FS holds the example files (two-tenant-cloud.yaml, ...).
//
//go:embed *.yaml
var FS embed.FS

// DefaultMaxSize bounds a topology file read by Load (64 MiB: about
// 800,000 ports written the way topofile writes them).
const DefaultMaxSize = 64 << 20

// ErrTooLarge reports an input over the size limit.
var ErrTooLarge = errors.New("topology file too large")

// Names lists the embedded examples.
func Names() []string {
	es, _ := fs.ReadDir(FS, ".")
	var ns []string
	for _, e := range es {
		ns = append(ns, e.Name())
	}
	return ns
}

// Load reads and decodes a topology. path is a file on disk, "-" for
// stdin, or the name of an embedded example ("two-tenant-cloud.yaml", with
// or without ".yaml") when no such file exists on disk. At most maxSize
// bytes are read (DefaultMaxSize when zero or less): a larger input is
// ErrTooLarge.
func Load(path string, stdin io.Reader, maxSize int64) (*topology.Topology, error) {
	data, name, err := Read(path, stdin, maxSize)
	if err != nil {
		return nil, err
	}
	return topofile.Load(bytes.NewReader(data), name)
}

// Read returns the bytes of the topology file Load would read, and the
// name errors give it.
func Read(path string, stdin io.Reader, maxSize int64) ([]byte, string, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	var r io.Reader
	name := path
	switch {
	case path == "-":
		r, name = stdin, "<stdin>"
	default:
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsRune(path, '/') {
			emb := path
			if !strings.HasSuffix(emb, ".yaml") {
				emb += ".yaml"
			}
			data, eerr := FS.ReadFile(emb)
			if eerr != nil {
				return nil, "", fmt.Errorf("%s: no such file, and no example of that name (examples: %s)", path, strings.Join(Names(), ", "))
			}
			return data, emb, nil
		}
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > maxSize {
		return nil, "", fmt.Errorf("%s: %w: over %d bytes (raise the limit with -max-size)", name, ErrTooLarge, maxSize)
	}
	return data, name, nil
}
