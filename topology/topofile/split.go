package topofile

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Large files are parsed in pieces, on every core. A 100,000-port file is
// 7.5 MB of YAML, and the YAML library takes most of a second to parse it
// on one core: as long as the decoding that follows.
//
// A file is split only where it is of the plain block shape Write gives
// and people write: top-level keys at column 0, each followed by a block
// list whose items start with "- " at one indentation. A piece is a run of
// whole items, so every line of it is indented past its list, and it
// parses to the same nodes, at the same lines and columns, as in the whole
// file: a multi-line quoted string or flow collection cut by a piece
// boundary leaves the piece unterminated, which fails. Any other shape
// (flow style at the top, tabs, carriage returns, control characters or
// invalid UTF-8 anywhere, document markers, a key twice, a key with no
// list) is parsed whole, as is a file when any piece fails, so that errors
// are always those of the whole file. Each piece is read by fastParse
// (fastyaml.go), or by the YAML library when it is not in Write's plain
// style.

const (
	// splitMin is the smallest file parsed in pieces: below it a
	// single parse costs less than the goroutines would save.
	splitMin = 256 << 10
	// pieceSize is the size a piece grows to before the next item
	// starts a new one.
	pieceSize = 64 << 10
)

// topList is a top-level key and the pieces of its list.
type topList struct {
	key    string
	line   int // of the key, 1-based
	indent int // of the list's items
	pieces []*piece
}

// piece is a run of whole items of a top-level list. Its items are
// valid, and ok set, once done is closed.
type piece struct {
	text  []byte
	line  int // of text's first line, 1-based
	done  chan struct{}
	items []*yaml.Node
	ok    bool
}

// split is a document being parsed in pieces: its top-level lists fill
// in as their pieces are parsed, in the order the decoder reads the lists,
// on every core but the decoder's share.
type split struct {
	lists map[string]*topList
	// ports is the number of ports the bridges and routers declare, as
	// counted from the text: a size hint.
	ports int
	// ahead holds a token for each piece taken by a parser and not yet
	// read by the decoder; quit stops the parsers.
	ahead chan struct{}
	quit  chan struct{}
}

// parseDocument parses data as parseYAML does, as a whole when it is
// under splitAt bytes or does not split; else in pieces, in the
// background.
func parseDocument(data []byte, splitAt int) (*yaml.Node, *split, error) {
	if len(data) >= splitAt {
		if lists, ports, ok := splitTop(data); ok {
			return nil, startSplit(lists, ports), nil
		}
	}
	doc, err := parseYAML(data)
	return doc, nil, err
}

// splitTop cuts a block-style document into its top-level lists and their
// pieces, and counts the ports its bridges and routers declare; ok is
// false when the document is of another shape.
func splitTop(data []byte) (lists []*topList, ports int, ok bool) {
	if !plainText(data) {
		return nil, 0, false
	}
	var cur *topList
	var open *piece
	start := 0 // of the open piece
	closePiece := func(end int) {
		open.text = data[start:end]
		cur.pieces = append(cur.pieces, open)
	}
	// The ports key inside a bridge or router, and its items' indentation.
	portsKey, portItem := -1, -1
	line := 0
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := off + end + 1
		if end < 0 {
			end, next = len(data)-off, len(data)
		}
		text := data[off : off+end]
		line++
		ind := 0
		for ind < len(text) && text[ind] == ' ' {
			ind++
		}
		rest := text[ind:]
		switch {
		case len(rest) == 0 || rest[0] == '#':
			// blank or a comment: part of whatever is open
		case cur != nil && cur.indent >= 0 && ind == cur.indent && isItem(rest):
			portsKey, portItem = -1, -1
			if off-start >= pieceSize {
				closePiece(off)
				start, open = off, &piece{line: line}
			}
		case cur != nil && cur.indent >= 0 && ind > cur.indent:
			if cur.key != "bridges" && cur.key != "routers" {
				break
			}
			switch {
			case portsKey >= 0 && isItem(rest) && ind >= portsKey && (portItem < 0 || ind == portItem):
				portItem = ind
				ports++
			case portsKey >= 0 && ind <= portsKey:
				portsKey, portItem = -1, -1
			}
			if k, isKey := keyLine(rest); isKey && k == "ports" {
				portsKey, portItem = ind, -1
			}
		case cur != nil && cur.indent < 0 && isItem(rest):
			cur.indent, start, open = ind, off, &piece{line: line}
		case ind == 0:
			key, isKey := keyLine(rest)
			if !isKey || !topKeys[key] || (cur != nil && cur.indent < 0) {
				return nil, 0, false
			}
			for _, l := range lists {
				if l.key == key {
					return nil, 0, false
				}
			}
			if cur != nil {
				closePiece(off)
			}
			cur = &topList{key: key, line: line, indent: -1}
			lists = append(lists, cur)
		default:
			return nil, 0, false
		}
		off = next
	}
	if cur == nil || cur.indent < 0 {
		return nil, 0, false
	}
	closePiece(len(data))
	return lists, ports, true
}

// plainText reports whether data holds only characters the YAML parser
// takes anywhere: tabs, newlines (no carriage returns) and printable
// UTF-8. Pieces do not cover a file's key and comment lines, so a
// character the parser would refuse there must send the file to the
// whole parse, which reports it.
func plainText(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0xa0, r >= 0xd800 && r < 0xe000, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return false
		}
		i += n
	}
	return true
}

// isItem reports whether a line, past its indentation, starts a block
// list item.
func isItem(rest []byte) bool {
	return rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ')
}

// keyLine returns the key of a line "key:", with at most spaces and a
// comment after the colon.
func keyLine(text []byte) (string, bool) {
	i := 0
	for i < len(text) && (text[i] >= 'a' && text[i] <= 'z' || text[i] == '-') {
		i++
	}
	if i == 0 || i == len(text) || text[i] != ':' {
		return "", false
	}
	after := bytes.TrimLeft(text[i+1:], " ")
	if len(after) > 0 && (after[0] != '#' || len(after) == len(text[i+1:])) {
		return "", false // a value, or "key:#…", which is one plain scalar
	}
	return string(text[:i]), true
}

// startSplit starts parsing the pieces of lists, in the order the decoder
// reads the lists.
func startSplit(lists []*topList, ports int) *split {
	s := &split{lists: make(map[string]*topList, len(lists)), ports: ports}
	for _, l := range lists {
		s.lists[l.key] = l
	}
	var all []*piece
	for _, sec := range sections {
		if l := s.lists[sec.key]; l != nil {
			all = append(all, l.pieces...)
		}
	}
	for _, p := range all {
		p.done = make(chan struct{})
	}
	workers := min(runtime.GOMAXPROCS(0), len(all))
	// The parsers run at most a few pieces ahead of the decoder, which
	// frees each piece's nodes as it goes: the whole tree is never held.
	s.ahead, s.quit = make(chan struct{}, 2*workers), make(chan struct{})
	var next atomic.Int64
	for range workers {
		go func() {
			for {
				select {
				case s.ahead <- struct{}{}:
				case <-s.quit:
					return
				}
				i := int(next.Add(1)) - 1
				if i >= len(all) {
					return
				}
				all[i].parse()
				close(all[i].done)
			}
		}()
	}
	return s
}

// items returns the items of the top-level list key in order, waiting
// for each piece; ok is false when a piece failed to parse. Each piece's
// nodes are dropped once yielded, so that the decoded part of the tree is
// collected.
func (s *split) items(key string, yield func(*yaml.Node)) (ok bool) {
	l := s.lists[key]
	if l == nil {
		return true
	}
	for _, p := range l.pieces {
		<-p.done
		if !p.ok {
			return false
		}
		for _, n := range p.items {
			yield(n)
		}
		p.items = nil
		<-s.ahead
	}
	return true
}

// close stops the parsers; call it once done with the pieces.
func (s *split) close() { close(s.quit) }

// parse parses a piece into its items, placed at their lines in the file:
// with fastParse, or else the YAML library.
func (p *piece) parse() {
	if items, ok := fastParse(p.text, p.line); ok {
		p.items, p.ok = items, true
		return
	}
	p.parseWithLibrary()
}

// parseWithLibrary parses a piece with the YAML library.
func (p *piece) parseWithLibrary() {
	doc, err := parseYAML(p.text)
	if err != nil || doc == nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode {
		return
	}
	p.items = doc.Content[0].Content
	for _, n := range p.items {
		shiftLines(n, p.line-1)
	}
	p.ok = len(p.items) > 0
}

// shiftLines moves the nodes of a tree down by d lines.
func shiftLines(n *yaml.Node, d int) {
	n.Line += d
	for _, c := range n.Content {
		shiftLines(c, d)
	}
}
