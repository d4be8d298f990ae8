package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// -h exits 0 and lists the flags; bad flags and lists exit 2 before
// anything starts.
func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "-quick"},
		{[]string{"-sizes", "10,x"}, 2, "positive integers"},
		{[]string{"-hosts", "0"}, 2, "positive integers"},
		{[]string{"-zk", "nohost"}, 2, "HOST:PORT"},
		{[]string{"extra"}, 2, "unexpected arguments"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q lacks %q", c.args, code, c.code, errb.String(), c.want)
		}
	}
}

// ints parses the lists the flags take.
func TestInts(t *testing.T) {
	got, err := ints("1000, 10000,100000")
	if err != nil || len(got) != 3 || got[2] != 100000 {
		t.Errorf("ints: %v %v", got, err)
	}
}
