package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The OpenAPI 3.1 document is generated from the route table, the same
// entries the mux serves, with the schemas of schemas.go; tests validate
// every request and response of the conformance suite against it.

// schema is a JSON Schema (2020-12, as OpenAPI 3.1 has it).
type schema = map[string]any

func schemaRef(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }

// listSchema is a page of a list of item.
func listSchema(item schema) schema {
	return schema{"type": "object", "additionalProperties": false, "required": []string{"items"},
		"properties": schema{
			"items": schema{"type": "array", "items": item},
			"continue": schema{"type": "string",
				"description": "present when there are more items: pass it as the continue parameter for the next page"},
		}}
}

var pageParams = []param{
	{name: "limit", desc: "items per page (default " + strconv.Itoa(DefaultPageSize) + " unless configured otherwise)",
		schema: schema{"type": "integer", "minimum": 1, "maximum": MaxPageSize}},
	{name: "continue", desc: "the continue token of the previous page", schema: schema{"type": "string"}},
}

var statusText = map[int]string{
	400: "Malformed request: bad JSON, query parameter or header",
	401: "No valid bearer token",
	403: "The token's role may not write",
	404: "No such object",
	409: "Conflict with stored objects: exists, duplicate name or binding, referenced",
	412: "The object is not at the version If-Match names",
	413: "Body too large",
	415: "Body not application/json",
	422: "The body or the write it asks for is invalid",
	500: "Internal error",
	503: "The NSDB cannot be reached",
}

var pathParam = regexp.MustCompile(`\{([a-z-]+)\}`)

// specOf returns the OpenAPI document of the route table. Every Server has
// the same table, so the document is built once per process.
func specOf(routes []*route) ([]byte, error) {
	specCache.once.Do(func() { specCache.doc, specCache.err = buildSpec(routes) })
	return specCache.doc, specCache.err
}

var specCache struct {
	once sync.Once
	doc  []byte
	err  error
}

// buildSpec returns the OpenAPI document of routes.
func buildSpec(routes []*route) ([]byte, error) {
	paths := schema{}
	for _, rt := range routes {
		item, _ := paths[rt.path].(schema)
		if item == nil {
			item = schema{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = operation(rt)
	}
	responses := schema{}
	for code, text := range statusText {
		responses[strconv.Itoa(code)] = schema{"description": text,
			"content": schema{"application/problem+json": schema{"schema": schemaRef("Problem")}}}
	}
	doc := schema{
		"openapi": "3.1.0",
		"info": schema{"title": "hivenet REST API", "version": "1",
			"description": "The NSDB's topology objects and live state over HTTP. Objects use the keys of topology files; " +
				"references take a name or a UUID; errors are RFC 9457 problem details listing every problem."},
		"security": []schema{{"bearer": []string{}}},
		"paths":    paths,
		"components": schema{
			"schemas":         componentSchemas(),
			"responses":       responses,
			"securitySchemes": schema{"bearer": schema{"type": "http", "scheme": "bearer"}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: OpenAPI document: %w", err)
	}
	return b, nil
}

func operation(rt *route) schema {
	op := schema{"operationId": rt.name, "summary": rt.summary, "tags": []string{rt.tag}}
	if rt.public {
		op["security"] = []schema{}
	}
	var params []schema
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		params = append(params, schema{"name": m[1], "in": "path", "required": true,
			"schema": schema{"type": "string"}, "description": pathParamDesc[m[1]]})
	}
	for _, p := range rt.params {
		params = append(params, schema{"name": p.name, "in": "query", "required": p.required, "schema": p.schema, "description": p.desc})
	}
	if rt.write && ((rt.method == http.MethodPut || rt.method == http.MethodDelete) && strings.Contains(rt.path, "{") || hasStatus(rt.errors, 412)) {
		params = append(params, schema{"name": "If-Match", "in": "header", "required": false, "schema": schema{"type": "string"},
			"description": "the ETag the object must still have, or *"})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.body != nil {
		types, content := rt.bodyTypes, schema{}
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		for _, t := range types {
			content[t] = schema{"schema": rt.body}
		}
		op["requestBody"] = schema{"required": true, "content": content}
	}
	ok := schema{"description": http.StatusText(rt.status)}
	if rt.resp != nil {
		t := rt.respType
		if t == "" {
			t = "application/json"
		}
		ok["content"] = schema{t: schema{"schema": rt.resp}}
	}
	headers := schema{}
	if rt.etag {
		headers["ETag"] = schema{"description": "the object's version", "schema": schema{"type": "string"}}
	}
	if rt.revision {
		headers[RevisionHeader] = schema{"description": "the store revision of the commit that deleted", "schema": schema{"type": "string"}}
	}
	if rt.status == http.StatusCreated {
		headers["Location"] = schema{"description": "the new object's URL", "schema": schema{"type": "string"}}
	}
	if len(headers) > 0 {
		ok["headers"] = headers
	}
	responses := schema{strconv.Itoa(rt.status): ok}
	codes := append([]int{500, 503}, rt.errors...)
	if !rt.public {
		codes = append(codes, 401)
	}
	if rt.write {
		codes = append(codes, 403)
	}
	for _, c := range codes {
		responses[strconv.Itoa(c)] = schema{"$ref": "#/components/responses/" + strconv.Itoa(c)}
	}
	op["responses"] = responses
	return op
}

func hasStatus(codes []int, c int) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

var pathParamDesc = map[string]string{
	"id":   "the object's UUID, or its name",
	"rule": "the rule's UUID",
	"vlan": "VLAN id, 0-4094",
	"addr": "IPv4 address",
}
