package ovsdb

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r io.Reader, max int) ([]string, error) {
	t.Helper()
	d := newDecoder(r, max)
	var out []string
	for {
		b, err := d.next()
		if err != nil {
			return out, err
		}
		out = append(out, string(b))
	}
}

func TestDecoderFraming(t *testing.T) {
	msgs := []string{
		`{"id":1,"result":[],"error":null}`,
		`{"id":null,"method":"update","params":["m",{"T":{"u":{"new":{"name":"}{]["}}}}]}`,
		`{"id":"echo","method":"echo","params":["a\"}b\\"]}`,
		`{"nested":[[{"a":[]}],{}]}`,
	}
	stream := " \n" + strings.Join(msgs, "\r\n\t ") + "\n"
	for name, r := range map[string]io.Reader{
		"whole":    strings.NewReader(stream),
		"one byte": iotest.OneByteReader(strings.NewReader(stream)),
		"half":     iotest.HalfReader(strings.NewReader(stream)),
	} {
		got, err := readAll(t, r, 1024)
		if err != io.EOF {
			t.Errorf("%s: ended with %v, want io.EOF", name, err)
		}
		if strings.Join(got, "|") != strings.Join(msgs, "|") {
			t.Errorf("%s: got %q", name, got)
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"id":1,"result":[`, io.ErrUnexpectedEOF},
		{`{"id":"\`, io.ErrUnexpectedEOF},
		{`[1,2]`, ErrDecode},
		{`"str"`, ErrDecode},
		{`{"id":1} x`, ErrDecode},
		{`{"a":"` + strings.Repeat("x", 200) + `"}`, ErrMessageTooLarge},
		{`{"a":[` + strings.Repeat("[", 150) + `]}`, ErrMessageTooLarge},
	} {
		got, err := readAll(t, iotest.HalfReader(strings.NewReader(tc.in)), 128)
		if !errors.Is(err, tc.want) {
			t.Errorf("%.40q: messages %q, error %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// A message over the limit is refused before the decoder has read it
// whole: the limit bounds memory, not just the result.
func TestDecoderStopsEarly(t *testing.T) {
	r := &countingReader{r: strings.NewReader(`{"a":"` + strings.Repeat("x", 1<<20) + `"}`)}
	_, err := readAll(t, r, 4096)
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("error %v, want ErrMessageTooLarge", err)
	}
	if r.n > 4096+64<<10 {
		t.Errorf("read %d bytes before refusing a message over 4096", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseMessage(t *testing.T) {
	var m message
	for _, tc := range []struct {
		in              string
		method          string
		request, notify bool
		wantErr         bool
	}{
		{`{"id":3,"result":{},"error":null}`, "", false, false, false},
		{`{"id":null,"method":"update2","params":[]}`, "update2", false, true, false},
		{`{"method":"update2","params":[]}`, "update2", false, true, false},
		{`{"id":"echo","method":"echo","params":[]}`, "echo", true, false, false},
		{`{"result":1}`, "", false, false, true},
		{`{"id":1,"method":3}`, "", false, false, true},
		{`{"id":1,}`, "", false, false, true},
	} {
		err := parseMessage([]byte(tc.in), &m)
		if (err != nil) != tc.wantErr || err != nil && !errors.Is(err, ErrDecode) {
			t.Errorf("parseMessage(%s): %v", tc.in, err)
			continue
		}
		if err == nil && (m.Method != tc.method || (m.Method != "" && isNull(m.ID)) != tc.notify) {
			t.Errorf("parseMessage(%s) = %+v", tc.in, m)
		}
	}
	if id, ok := responseID([]byte(" 17 ")); !ok || id != 17 {
		t.Errorf("responseID(17) = %d, %v", id, ok)
	}
	for _, raw := range []string{`"echo"`, `-1`, `null`, `1.5`, ``} {
		if _, ok := responseID([]byte(raw)); ok {
			t.Errorf("responseID(%s) accepted", raw)
		}
	}
}

func TestResponseError(t *testing.T) {
	if responseError("m", []byte("null")) != nil || responseError("m", nil) != nil {
		t.Fatal("null error member is an error")
	}
	err := responseError("transact", []byte(`{"error":"unknown database","details":"no db x","syntax":"[]"}`))
	var re *RPCError
	if !errors.As(err, &re) || re.Details != "no db x" || !errors.Is(err, ErrRequest) || !errors.Is(err, ErrUnknownDatabase) {
		t.Errorf("object error: %#v", err)
	}
	err = responseError("echo", []byte(`"unknown method"`))
	if !errors.As(err, &re) || re.Err != "unknown method" || errors.Is(err, ErrUnknownDatabase) {
		t.Errorf("string error: %#v", err)
	}
}
