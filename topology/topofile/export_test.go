package topofile

import "go.yaml.in/yaml/v3"

// Hooks for the external tests of the piecewise parse, which use
// internal/topogen (itself a user of this package).

// SplitPieces returns the pieces data splits into, with the file line
// each starts at.
func SplitPieces(data []byte) (texts [][]byte, lines []int, ok bool) {
	lists, _, ok := splitTop(data)
	for _, l := range lists {
		for _, p := range l.pieces {
			texts, lines = append(texts, p.text), append(lines, p.line)
		}
	}
	return texts, lines, ok
}

// FastParse is fastParse.
var FastParse = fastParse

// LibraryParse parses a piece with the YAML library, as a piece that
// fastParse gives up on is parsed.
func LibraryParse(text []byte, line int) ([]*yaml.Node, bool) {
	p := &piece{text: text, line: line}
	p.parseWithLibrary()
	return p.items, p.ok
}

// SameNodes is sameNodes.
var SameNodes = sameNodes
