package ovsdb

// A small scanner over JSON text that walks objects and arrays without
// reflection and without copying: the monitor cache decodes every row and
// every value of every notification through it. Its input has already
// been validated by encoding/json (the message decoder parses every
// message whole), so it checks only what it needs to stay in bounds and
// to reject what is not OVSDB; on malformed input it returns an error
// wrapping ErrDecode and never panics.

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// valueEnd returns the index just after the JSON value starting at i.
func valueEnd(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, decodeErrorf("truncated JSON")
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, decodeErrorf("unterminated string")
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := valueEnd(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, decodeErrorf("unterminated %c", data[i])
	}
	j := i
	for j < len(data) && !isSpace(data[j]) && data[j] != ',' && data[j] != ']' && data[j] != '}' && data[j] != ':' {
		j++
	}
	if j == i {
		return 0, decodeErrorf("expected a JSON value at %q", data[i])
	}
	return j, nil
}

// forEachElement calls fn with each element of the JSON array data.
func forEachElement(data []byte, fn func(elem []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return decodeErrorf("expected an array")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return checkTrailing(data, i+1)
	}
	for {
		end, err := valueEnd(data, i)
		if err != nil {
			return err
		}
		if err := fn(data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return decodeErrorf("unterminated array")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return checkTrailing(data, i+1)
		default:
			return decodeErrorf("expected ',' or ']' in an array")
		}
	}
}

// forEachMember calls fn with the raw key (a JSON string, quotes included)
// and value of each member of the JSON object data. A null data is an
// empty object.
func forEachMember(data []byte, fn func(key, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return decodeErrorf("expected an object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return checkTrailing(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return decodeErrorf("expected a member name")
		}
		kend, err := valueEnd(data, i)
		if err != nil {
			return err
		}
		key := data[i:kend]
		i = skipSpace(data, kend)
		if i >= len(data) || data[i] != ':' {
			return decodeErrorf("expected ':' after a member name")
		}
		i = skipSpace(data, i+1)
		vend, err := valueEnd(data, i)
		if err != nil {
			return err
		}
		if err := fn(key, data[i:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return decodeErrorf("unterminated object")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return checkTrailing(data, i+1)
		default:
			return decodeErrorf("expected ',' or '}' in an object")
		}
	}
}

func checkTrailing(data []byte, i int) error {
	if skipSpace(data, i) != len(data) {
		return decodeErrorf("data after a JSON value")
	}
	return nil
}

// keyIs reports whether a raw member name (quotes included, no escapes)
// equals name, without allocating.
func keyIs(raw []byte, name string) bool {
	return len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name
}
