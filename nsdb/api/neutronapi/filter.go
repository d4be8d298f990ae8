package neutronapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query parameters that are not filters.
var notFilters = map[string]bool{"fields": true, "limit": true, "marker": true, "sort_key": true,
	"sort_dir": true, "page_reverse": true, "verbose": true}

// filter keeps the views matching every filter of the query (an attribute
// equal to one of the values given for it; a list attribute containing
// one; fixed_ips=ip_address=10.0.0.5 on lists of objects). Filters on
// attributes a resource does not have are ignored.
func filter(vs []view, q url.Values) []view {
	out := vs[:0:0]
	for _, v := range vs {
		ok := true
		for k, vals := range q {
			if notFilters[k] {
				continue
			}
			if x, has := v[k]; has && !slices.ContainsFunc(vals, func(want string) bool { return matches(x, want) }) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, v)
		}
	}
	return out
}

func matches(x any, want string) bool {
	switch x := x.(type) {
	case nil:
		return want == "" || strings.EqualFold(want, "none") || want == "null"
	case string:
		return x == want
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(want))
		return err == nil && b == x
	case int:
		return strconv.Itoa(x) == want
	case []string:
		return slices.Contains(x, want)
	case []view:
		k, v, ok := strings.Cut(want, "=")
		return ok && slices.ContainsFunc(x, func(e view) bool { return fmt.Sprint(e[k]) == v })
	case json.RawMessage:
		return false
	}
	return fmt.Sprint(x) == want
}

// selectFields keeps only the attributes the query's fields= name, if any.
func selectFields(vs []view, q url.Values) []view {
	fields := q["fields"]
	if len(fields) == 0 {
		return vs
	}
	out := make([]view, len(vs))
	for i, v := range vs {
		p := view{}
		for _, f := range fields {
			for _, name := range strings.Split(f, ",") {
				if x, ok := v[name]; ok {
					p[name] = x
				}
			}
		}
		out[i] = p
	}
	return out
}
