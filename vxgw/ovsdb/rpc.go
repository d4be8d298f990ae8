package ovsdb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// JSON-RPC 1.0 over a byte stream. OVSDB sends JSON objects back to back
// with no framing, so the decoder finds the end of each object itself
// (counting brackets outside strings) and refuses objects larger than its
// limit before reading them whole.

// DefaultMaxMessageSize is the largest message the client accepts when
// Config.MaxMessageSize is zero: 64 MiB, room for the initial contents of
// a hardware_vtep database with hundreds of thousands of MAC rows.
const DefaultMaxMessageSize = 64 << 20

// message is any JSON-RPC 1.0 message: a request (method and non-null id),
// a notification (method and null id) or a response (result and error).
type message struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	ID     json.RawMessage `json:"id"`
}

// isNull reports whether raw is absent or the JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// decoder splits a stream into JSON objects of at most max bytes.
type decoder struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newDecoder(r io.Reader, max int) *decoder {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	return &decoder{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next JSON object of the stream, valid until the next
// call. It returns io.EOF at a clean end of stream, and errors wrapping
// io.ErrUnexpectedEOF, ErrMessageTooLarge or ErrDecode otherwise; after an
// error the stream is unusable.
func (d *decoder) next() ([]byte, error) {
	d.buf = d.buf[:0]
	depth := 0
	inString, escaped := false, false
	for {
		if d.r.Buffered() == 0 {
			if _, err := d.r.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					if len(d.buf) == 0 {
						return nil, io.EOF
					}
					return nil, fmt.Errorf("ovsdb: stream ended inside a message: %w", io.ErrUnexpectedEOF)
				}
				return nil, err
			}
		}
		chunk, _ := d.r.Peek(d.r.Buffered())
		i := 0
		if len(d.buf) == 0 {
			for i < len(chunk) && isSpace(chunk[i]) {
				i++
			}
			if i == len(chunk) {
				d.r.Discard(i)
				continue
			}
			if chunk[i] != '{' {
				return nil, decodeErrorf("message starts with %q, not '{'", chunk[i])
			}
		}
		start := i
		end := -1
		for ; i < len(chunk); i++ {
			c := chunk[i]
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			if depth == 0 {
				end = i + 1
				break
			}
		}
		stop := len(chunk)
		if end >= 0 {
			stop = end
		}
		if len(d.buf)+stop-start > d.max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, d.max)
		}
		d.buf = append(d.buf, chunk[start:stop]...)
		d.r.Discard(stop)
		if end >= 0 {
			return d.buf, nil
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseMessage decodes one framed object as a JSON-RPC message.
func parseMessage(raw []byte, m *message) error {
	*m = message{}
	if err := json.Unmarshal(raw, m); err != nil {
		return decodeErrorf("json-rpc message: %v", err)
	}
	if m.Method == "" && isNull(m.ID) {
		return decodeErrorf("json-rpc message with neither method nor id")
	}
	return nil
}

// responseID returns the id of a response to one of the client's
// requests, which are non-negative integers; ok is false for other ids.
func responseID(raw json.RawMessage) (id uint64, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return 0, false
	}
	id, err := strconv.ParseUint(string(raw), 10, 64)
	return id, err == nil
}

// responseError converts the error member of a response into an
// *RPCError, or nil when it is null.
func responseError(method string, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	e := &RPCError{Method: method}
	var obj struct {
		Error   string `json:"error"`
		Details string `json:"details"`
		Syntax  string `json:"syntax"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Error != "" {
		e.Err, e.Details, e.Syntax = obj.Error, obj.Details, obj.Syntax
	} else if s, err := parseString(bytes.TrimSpace(raw)); err == nil {
		e.Err = s
	} else {
		e.Err = string(raw)
	}
	return e
}

// appendRequest appends a JSON-RPC request; params must be a JSON array.
func appendRequest(buf []byte, id uint64, method string, params []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, `,"method":`...)
	buf = appendString(buf, method)
	buf = append(buf, `,"params":`...)
	buf = append(buf, params...)
	return append(buf, '}')
}

// appendResponse appends a JSON-RPC response with a raw id and result.
func appendResponse(buf []byte, id, result json.RawMessage, errString string) []byte {
	buf = append(buf, `{"id":`...)
	buf = append(buf, id...)
	buf = append(buf, `,"result":`...)
	if result == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, result...)
	}
	buf = append(buf, `,"error":`...)
	if errString == "" {
		buf = append(buf, "null"...)
	} else {
		buf = appendString(buf, errString)
	}
	return append(buf, '}')
}
