package server_test

// The OpenAPI description (openapi.json, served at GET /openapi.json)
// checked against the server, so that it cannot drift: every route the
// server registers is documented and every documented path is routed;
// every answer the tests below provoke has a documented status, its
// required headers, and a body of the documented media type that
// validates against the documented schema; and every documented status is
// provoked, but for the shared failure answers listed in
// sharedFailureResponses and the few in unexercised.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/web"
)

// ---- the document ----------------------------------------------------

// apiSpec is the OpenAPI document, decoded with json.Number for numbers.
type apiSpec struct {
	doc map[string]any
}

// parseSpec decodes an OpenAPI document.
func parseSpec(b []byte) (*apiSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the document")
	}
	return &apiSpec{doc: doc}, nil
}

// pointer returns the node a local reference ("#/components/...") names
// (RFC 6901, with ~1 and ~0 unescaped).
func (s *apiSpec) pointer(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local", ref)
	}
	var node any = s.doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reference %q: %q is not in an object", ref, tok)
		}
		if node, ok = m[tok]; !ok {
			return nil, fmt.Errorf("reference %q: no %q", ref, tok)
		}
	}
	return node, nil
}

// deref follows node's $ref, and the target's, to an object.
func (s *apiSpec) deref(node any) (map[string]any, error) {
	for range 10 {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v is not an object", node)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if node, err = s.pointer(ref); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("reference chain too long")
}

// httpMethods are the operation keys of a path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns every documented operation, "METHOD /path", with
// the operation object.
func (s *apiSpec) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	paths, _ := s.doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if op, ok := item[m].(map[string]any); ok {
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

// responseKeys returns every documented response, "METHOD /path STATUS",
// with the response object (references followed) and the reference it
// was written as ("" if inline).
func (s *apiSpec) responseKeys() (map[string]map[string]any, map[string]string, error) {
	out, refs := map[string]map[string]any{}, map[string]string{}
	for op, o := range s.operations() {
		rs, _ := o["responses"].(map[string]any)
		for status, r := range rs {
			res, err := s.deref(r)
			if err != nil {
				return nil, nil, fmt.Errorf("%s %s: %v", op, status, err)
			}
			out[op+" "+status] = res
			if m, _ := r.(map[string]any); m != nil {
				refs[op+" "+status], _ = m["$ref"].(string)
			}
		}
	}
	return out, refs, nil
}

// ---- the JSON Schema subset -------------------------------------------

// schemaKeywords are the JSON Schema (2020-12) keywords validate
// implements; annotations are those it ignores. The document may use no
// other, so that nothing it says goes unchecked.
var (
	schemaKeywords = []string{"$ref", "type", "const", "enum", "required", "properties", "additionalProperties", "items", "oneOf", "pattern"}
	annotations    = []string{"description", "format", "title"}
)

// jsonType is the JSON Schema type of a value decoded with UseNumber:
// "integer" for a number without a fraction or exponent.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return "number"
		}
		return "integer"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonEqual reports whether two decoded JSON values are equal.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// validate checks v, decoded with UseNumber, against schema; at names v
// in the error ("$.user.roles[0]").
func (s *apiSpec) validate(schema, v any, at string) error {
	if b, ok := schema.(bool); ok {
		if !b {
			return fmt.Errorf("%s: not allowed", at)
		}
		return nil
	}
	sc, ok := schema.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: schema %v is not an object", at, schema)
	}
	for k := range sc {
		if !slices.Contains(schemaKeywords, k) && !slices.Contains(annotations, k) {
			return fmt.Errorf("%s: schema keyword %q is not implemented by the test's validator", at, k)
		}
	}
	if ref, ok := sc["$ref"].(string); ok {
		target, err := s.pointer(ref)
		if err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		if err := s.validate(target, v, at); err != nil {
			return err
		}
	}
	if t, ok := sc["type"]; ok {
		var types []any
		switch t := t.(type) {
		case string:
			types = []any{t}
		case []any:
			types = t
		}
		got := jsonType(v)
		if !slices.Contains(types, any(got)) && !(got == "integer" && slices.Contains(types, any("number"))) {
			return fmt.Errorf("%s: %s, want type %v", at, got, t)
		}
	}
	if c, ok := sc["const"]; ok && !jsonEqual(c, v) {
		return fmt.Errorf("%s: %v, want %v", at, v, c)
	}
	if e, ok := sc["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return jsonEqual(x, v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, e)
	}
	if p, ok := sc["pattern"].(string); ok {
		if str, ok := v.(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("%s: pattern %q: %v", at, p, err)
			}
			if !re.MatchString(str) {
				return fmt.Errorf("%s: %q does not match %q", at, str, p)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		req, _ := sc["required"].([]any)
		for _, name := range req {
			if _, ok := obj[name.(string)]; !ok {
				return fmt.Errorf("%s: required member %q missing", at, name)
			}
		}
		props, _ := sc["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(obj)) {
			if ps, ok := props[name]; ok {
				if err := s.validate(ps, obj[name], at+"."+name); err != nil {
					return err
				}
			} else if ap, ok := sc["additionalProperties"]; ok {
				if err := s.validate(ap, obj[name], at+"."+name); err != nil {
					return fmt.Errorf("%s (an undocumented member)", err)
				}
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := sc["items"]; ok {
			for i, x := range arr {
				if err := s.validate(items, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	if one, ok := sc["oneOf"].([]any); ok {
		var matched []int
		var errs []string
		for i, alt := range one {
			if err := s.validate(alt, v, at); err != nil {
				errs = append(errs, err.Error())
			} else {
				matched = append(matched, i)
			}
		}
		if len(matched) != 1 {
			return fmt.Errorf("%s: matches %d of oneOf's schemas %v, want exactly 1 (%s)", at, len(matched), matched, strings.Join(errs, "; "))
		}
	}
	return nil
}

// TestValidator checks the test's own validator on the cases it must
// tell apart.
func TestValidator(t *testing.T) {
	s, err := parseSpec([]byte(`{"components": {"schemas": {
		"Obj": {"type": "object", "required": ["a"], "additionalProperties": false,
			"properties": {"a": {"type": "integer"}, "b": {"type": ["string", "array"], "items": {"type": "string"}}}},
		"One": {"oneOf": [{"$ref": "#/components/schemas/Obj"}, {"type": "object", "properties": {"k": {"const": "x"}}, "required": ["k"]}]},
		"Two": {"oneOf": [{"type": "object"}, {"required": ["a"]}]},
		"Map": {"type": "object", "additionalProperties": {"type": "boolean"}},
		"Str": {"type": "string", "pattern": "^public, max-age=[0-9]+$", "enum": ["public, max-age=1", "public, max-age=2"]},
		"Odd": {"type": "string", "minLength": 1}
	}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		schema, value string
		ok            bool
	}{
		{"Obj", `{"a": 1}`, true},
		{"Obj", `{"a": 1, "b": "x"}`, true},
		{"Obj", `{"a": 1, "b": ["x"]}`, true},
		{"Obj", `{"a": 1, "b": [1]}`, false},
		{"Obj", `{"a": 1.5}`, false},
		{"Obj", `{"b": "x"}`, false},
		{"Obj", `{"a": 1, "c": 2}`, false},
		{"Obj", `[]`, false},
		{"One", `{"a": 1}`, true},
		{"One", `{"k": "x"}`, true},
		{"One", `{"k": "y"}`, false},
		{"One", `{"a": 1, "k": "x"}`, true}, // Obj refuses k
		{"Two", `{"a": 1}`, false},          // both match
		{"Map", `{"x": true, "y": false}`, true},
		{"Map", `{"x": "true"}`, false},
		{"Str", `"public, max-age=2"`, true},
		{"Str", `"public, max-age=3"`, false},
		{"Str", `"private"`, false},
		{"Odd", `"x"`, false}, // an unimplemented keyword is an error
	} {
		dec := json.NewDecoder(strings.NewReader(tt.value))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		err := s.validate(map[string]any{"$ref": "#/components/schemas/" + tt.schema}, v, "$")
		if (err == nil) != tt.ok {
			t.Errorf("validate(%s, %s) = %v, want ok %v", tt.schema, tt.value, err, tt.ok)
		}
	}
}

// ---- the document on its own --------------------------------------------

// TestOpenAPIDocument checks the document's own consistency: OpenAPI
// 3.1, every reference resolves, operation IDs are unique, every schema
// uses only keywords the validator implements, and every JSON error
// response is the Error schema (or, at the SET poll endpoint, RFC 8935's
// SETError).
func TestOpenAPIDocument(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSpec(b)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v := s.doc["openapi"]; v != "3.1.0" {
		t.Errorf(`"openapi" = %v, want "3.1.0"`, v)
	}

	// Every $ref resolves; every schema uses known keywords.
	var walk func(node any, at string, schema bool)
	walk = func(node any, at string, schema bool) {
		switch n := node.(type) {
		case map[string]any:
			if ref, ok := n["$ref"].(string); ok {
				if _, err := s.pointer(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, v := range n {
				if schema {
					if !slices.Contains(schemaKeywords, k) && !slices.Contains(annotations, k) {
						t.Errorf("%s: schema keyword %q is not implemented by the test's validator", at, k)
					}
					switch k {
					case "properties":
						for name, ps := range v.(map[string]any) {
							walk(ps, at+"/properties/"+name, true)
						}
					case "items", "additionalProperties":
						walk(v, at+"/"+k, true)
					case "oneOf":
						for i, alt := range v.([]any) {
							walk(alt, fmt.Sprintf("%s/oneOf/%d", at, i), true)
						}
					}
					continue
				}
				switch {
				case k == "schema":
					walk(v, at+"/schema", true)
				case at == "#/components/schemas" || strings.HasSuffix(at, "/x-sse-events"):
					walk(v, at+"/"+k, true)
				default:
					walk(v, at+"/"+k, false)
				}
			}
		case []any:
			for i, v := range n {
				walk(v, fmt.Sprintf("%s/%d", at, i), false)
			}
		}
	}
	walk(s.doc, "#", false)

	ids := map[string]string{}
	for op, o := range s.operations() {
		id, _ := o["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", op)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s and %s share operationId %q", prev, op, id)
		}
		ids[id] = op
	}

	responses, _, err := s.responseKeys()
	if err != nil {
		t.Fatal(err)
	}
	for key, res := range responses {
		status, _ := strconv.Atoi(key[strings.LastIndexByte(key, ' ')+1:])
		content, _ := res["content"].(map[string]any)
		mt, ok := content["application/json"].(map[string]any)
		if status < 400 || !ok {
			continue
		}
		want := "#/components/schemas/Error"
		if strings.HasPrefix(key, "POST /v1/revocations/poll ") && status != 401 && status != 403 && status != 503 {
			want = "#/components/schemas/SETError"
		}
		if sc, _ := mt["schema"].(map[string]any); sc == nil || sc["$ref"] != want {
			t.Errorf("%s: JSON error body is %v, want {\"$ref\": %q}", key, mt["schema"], want)
		}
	}
}

// ---- the routes -------------------------------------------------------

// muxPatterns returns the patterns the package's non-test sources
// register on a ServeMux (calls of Handle and HandleFunc), with the
// string constants they are built from resolved. A pattern that is not a
// constant expression fails the test: it could not be checked.
func muxPatterns(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	consts := map[string]ast.Expr{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							consts[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			if v, ok := consts[e.Name]; ok {
				return eval(v)
			}
		case *ast.ParenExpr:
			return eval(e.X)
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				x, ok1 := eval(e.X)
				y, ok2 := eval(e.Y)
				return x + y, ok1 && ok2
			}
		}
		return "", false
	}
	var patterns []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			p, ok := eval(call.Args[0])
			if !ok {
				t.Errorf("%s: a route whose pattern is not a string constant: this test cannot check it", fset.Position(call.Pos()))
				return true
			}
			patterns = append(patterns, p)
			return true
		})
	}
	return patterns
}

// documents reports whether the documented operation op ("GET
// /static/{file}") is what the mux pattern serves: the same, or for a
// subtree pattern ("GET /static/") its path plus one path parameter.
func documents(op, pattern string) bool {
	if op == pattern {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "/")
	if !ok {
		return false
	}
	rest, ok := strings.CutPrefix(op, prefix+"/{")
	return ok && strings.HasSuffix(rest, "}") && !strings.ContainsAny(rest, "/{")
}

// TestOpenAPIRoutes checks that every route the server registers is
// documented, and every documented operation is a registered route.
func TestOpenAPIRoutes(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSpec(b)
	if err != nil {
		t.Fatal(err)
	}
	ops := s.operations()
	patterns := muxPatterns(t)
	if len(patterns) < 30 {
		t.Fatalf("found %d route patterns in the sources, want every route: %q", len(patterns), patterns)
	}
	for _, p := range patterns {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(ops)), func(op string) bool { return documents(op, p) }) {
			t.Errorf("route %q is not in openapi.json", p)
		}
	}
	for op := range ops {
		if !slices.ContainsFunc(patterns, func(p string) bool { return documents(op, p) }) {
			t.Errorf("openapi.json documents %q, which the server does not route", op)
		}
	}
}

// ---- the answers --------------------------------------------------------

// specCheck checks answers against the document and records which
// documented responses were seen.
type specCheck struct {
	t    *testing.T
	spec *apiSpec
	seen map[string]bool // "METHOD /path STATUS"
}

// pathMatches reports whether a request path is an instance of the
// documented path template.
func pathMatches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if ts[i] != ps[i] && !(strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") && ps[i] != "") {
			return false
		}
	}
	return true
}

// response checks r, the answer to op ("METHOD /path/{template}"): it
// must have status want, which op documents; every header the response
// marks required, each valid against its schema; and, if the response
// documents content, a Content-Type among it and a body valid against
// its schema (JSON) — none if it documents no content. A
// text/event-stream body is not read here (checkStream reads it).
func (c *specCheck) response(op string, want int, r response) {
	c.t.Helper()
	method, template, _ := strings.Cut(op, " ")
	reqMethod, reqPath, _ := strings.Cut(r.req, " ")
	reqPath, _, _ = strings.Cut(reqPath, "?")
	if reqMethod != method || !pathMatches(template, reqPath) {
		c.t.Errorf("%s: the request is not an instance of %s", r.req, op)
	}
	if r.status != want {
		c.t.Errorf("%s = %v, want %d", r.req, r, want)
		return
	}
	o, ok := c.spec.operations()[op]
	if !ok {
		c.t.Errorf("%s: operation %s is not documented", r.req, op)
		return
	}
	key := op + " " + strconv.Itoa(r.status)
	raw, ok := o["responses"].(map[string]any)[strconv.Itoa(r.status)]
	if !ok {
		c.t.Errorf("%s = %v: status %d is not documented for %s", r.req, r, r.status, op)
		return
	}
	c.seen[key] = true
	res, err := c.spec.deref(raw)
	if err != nil {
		c.t.Errorf("%s: %v", key, err)
		return
	}
	headers, _ := res["headers"].(map[string]any)
	for name, h := range headers {
		h, err := c.spec.deref(h)
		if err != nil {
			c.t.Errorf("%s: header %s: %v", key, name, err)
			continue
		}
		v := r.header.Get(name)
		if v == "" {
			if h["required"] == true {
				c.t.Errorf("%s = %v: no %s header, which the document requires", r.req, r, name)
			}
			continue
		}
		var hv any = v
		if sc, _ := h["schema"].(map[string]any); sc != nil && sc["type"] == "integer" {
			hv = json.Number(v)
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				hv = v
			}
		}
		if err := c.spec.validate(h["schema"], hv, name); err != nil {
			c.t.Errorf("%s: header %v", r.req, err)
		}
	}
	content, _ := res["content"].(map[string]any)
	if len(content) == 0 {
		if len(r.body) != 0 {
			c.t.Errorf("%s = %v: a body, where %s documents none", r.req, r, key)
		}
		return
	}
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		c.t.Errorf("%s: Content-Type %q: %v", r.req, r.header.Get("Content-Type"), err)
		return
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		c.t.Errorf("%s: Content-Type %s, where %s documents %v", r.req, mt, key, slices.Sorted(maps.Keys(content)))
		return
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		c.t.Errorf("%s: body %q is not JSON: %v", r.req, r.body, err)
		return
	}
	if err := c.spec.validate(media["schema"], body, "$"); err != nil {
		c.t.Errorf("%s = %v\ndoes not match %s: %v", r.req, r, key, err)
	}
}

// request checks the body of a request the server accepted against the
// operation's documented request body: JSON, or a form whose every
// parameter is a string.
func (c *specCheck) request(op string, rq request) {
	c.t.Helper()
	if rq.body == "" {
		return
	}
	ct := rq.contentType
	if ct == "" {
		ct = "application/json"
	}
	mt, _, _ := mime.ParseMediaType(ct)
	o := c.spec.operations()[op]
	rb, err := c.spec.deref(o["requestBody"])
	if err != nil {
		c.t.Errorf("%s: accepted a body, but the request body is not documented: %v", op, err)
		return
	}
	media, ok := rb["content"].(map[string]any)[mt].(map[string]any)
	if !ok {
		c.t.Errorf("%s: accepted a %s body, which is not documented", op, mt)
		return
	}
	var body any
	switch mt {
	case "application/json":
		dec := json.NewDecoder(strings.NewReader(rq.body))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			c.t.Errorf("%s: request body: %v", op, err)
			return
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(rq.body)
		if err != nil {
			c.t.Errorf("%s: request body: %v", op, err)
			return
		}
		m := map[string]any{}
		for k, vs := range q {
			m[k] = vs[0]
		}
		body = m
	}
	if err := c.spec.validate(media["schema"], body, "$"); err != nil {
		c.t.Errorf("%s: the request %q, which the server accepted, does not match the documented request body: %v", op, rq.body, err)
	}
}

// do sends rq to a and checks the answer against op with want, and the
// request body too when the server accepted it.
func (c *specCheck) do(a *api, op string, want int, rq request) response {
	c.t.Helper()
	r := a.do(rq)
	c.response(op, want, r)
	if r.status/100 == 2 {
		c.request(op, rq)
	}
	return r
}

// stream opens GET /v1/revocations/stream, checks the answer as response
// does, then reads events until the first heartbeat, checking each
// event's data against the schema the document gives its name
// (x-sse-events).
func (c *specCheck) stream(a *api, header http.Header, query string) {
	c.t.Helper()
	const op = "GET /v1/revocations/stream"
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", a.url+"/v1/revocations/stream"+query, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := a.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	c.response(op, http.StatusOK, response{status: resp.StatusCode, header: resp.Header, req: "GET /v1/revocations/stream" + query})
	res, err := c.spec.deref(c.spec.operations()[op]["responses"].(map[string]any)["200"])
	if err != nil {
		c.t.Fatal(err)
	}
	events, _ := res["content"].(map[string]any)["text/event-stream"].(map[string]any)["x-sse-events"].(map[string]any)
	if len(events) == 0 {
		c.t.Fatalf("%s 200 documents no x-sse-events", op)
	}
	var name, id, data string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line != "" {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "event":
				name = v
			case "id":
				id = v
			case "data":
				data = v
			default:
				c.t.Errorf("stream: unexpected line %q", line)
			}
			continue
		}
		schema, ok := events[name]
		if !ok {
			c.t.Errorf("stream: event %q is not documented (x-sse-events)", name)
		} else {
			dec := json.NewDecoder(strings.NewReader(data))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				c.t.Errorf("stream: event %q data %q: %v", name, data, err)
			} else if err := c.spec.validate(schema, v, "event "+name); err != nil {
				c.t.Errorf("stream: %v", err)
			}
			c.seen["event "+name] = true
		}
		if name == "revocation" && id == "" {
			c.t.Errorf("stream: a revocation event without an id")
		}
		if name == "heartbeat" {
			return
		}
		name, id, data = "", "", ""
	}
	c.t.Errorf("stream ended before a heartbeat: %v", sc.Err())
}

// sharedFailureResponses are the shared answers to failures that other
// tests provoke (busy servers, the browser pages' refusals): a documented
// status answered with one of them need not be provoked here.
var sharedFailureResponses = []string{
	"#/components/responses/Unavailable",
	"#/components/responses/PageUnavailable",
	"#/components/responses/PageRefused",
	"#/components/responses/PageForbidden",
}

// unexercised are the documented responses this test does not provoke,
// and why.
var unexercised = map[string]string{
	"GET /v1/me 404":                 "the user is removed from the database while a session of theirs is active",
	"GET /.well-known/jwks.json 500": "the keys cannot be read",
}

// specAPI is the server with everything on: the revocation feed, OAuth
// clients and the OAuth provider with its pages, and sign-up (limited to
// specSignupLimit per address), over newAPI's components.
type specAPI struct {
	*oidcAPI
	tokens *tokenAPI
}

const specSignupLimit = 3

func newSpecAPI(t *testing.T) *specAPI {
	t.Helper()
	o := options{feed: &feed.Config{}, signup: true, busyTimeout: 100 * time.Millisecond, login: login.Config{SignupLimit: specSignupLimit}}
	a := newAPI(t, o)
	iss, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	lg := login.New(a.db, a.db, a.hasher, o.login)
	p, err := oauth.New(oauth.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: a.clock.Now}, oauth.Deps{
		Users: a.db, Clients: a.db, Codes: a.db, Consents: a.db, Sessions: a.sessions,
		Issuer: iss, Login: lg, Keys: a.ring, Revocations: a.db,
	})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience, CSRFKey: key, AllowSignup: true}, server.Deps{
		Users: a.db, Login: lg, Sessions: a.sessions, Issuer: iss, Keys: a.ring, Hasher: a.hasher,
		Ready: a.db.Ping, Feed: a.hub, Clients: a.db, OAuth: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a.srv, a.url, a.client = srv, hs.URL, hs.Client()
	return &specAPI{oidcAPI: &oidcAPI{api: a, provider: p}, tokens: &tokenAPI{api: a, p: p}}
}

// TestOpenAPIAnswers drives the server with everything on through every
// documented operation, and checks each answer against the document:
// served at /openapi.json as the file is, and matching it.
func TestOpenAPIAnswers(t *testing.T) {
	o := newSpecAPI(t)
	a := o.api

	// The document itself, as served.
	r := a.do(request{method: "GET", path: "/openapi.json"})
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || !bytes.Equal(r.body, file) {
		t.Fatalf("GET /openapi.json = %d, %d bytes; want 200 and openapi.json's %d bytes", r.status, len(r.body), len(file))
	}
	spec, err := parseSpec(r.body)
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	c := &specCheck{t: t, spec: spec, seen: map[string]bool{}}
	c.response("GET /openapi.json", http.StatusOK, r)
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Errorf("GET /openapi.json: Cache-Control %q, want public, max-age=3600", cc)
	}
	etag := r.header.Get("ETag")
	c.do(a, "GET /openapi.json", http.StatusNotModified, request{method: "GET", path: "/openapi.json", header: http.Header{"If-None-Match": {`"other", ` + etag}}})
	c.do(a, "GET /openapi.json", http.StatusOK, request{method: "GET", path: "/openapi.json", header: http.Header{"If-None-Match": {`"other"`}}})

	alice := a.addUser("alice@example.com", "admin")
	disabled := a.addUser("disabled@example.com")
	if _, err := a.db.UpdateUser(t.Context(), disabled.ID, func(u store.User) (store.User, error) {
		u.Disabled = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	a.addUser("locked@example.com")
	creds := jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	big := `{"email":"` + strings.Repeat("a", server.DefaultMaxBody) + `","password":"x"}`
	const form = "application/x-www-form-urlencoded"

	// v1
	{
		const login, refresh, logout = "POST /v1/login", "POST /v1/token/refresh", "POST /v1/logout"
		r := c.do(a, login, 200, request{method: "POST", path: "/v1/login", body: creds})
		var tk tokens
		decode(t, r, &tk)
		r = c.do(a, login, 200, request{method: "POST", path: "/v1/login?mode=cookie", body: creds})
		cookies := r.cookies()
		c.do(a, login, 400, request{method: "POST", path: "/v1/login", body: `{"email":"alice@example.com"}`})
		c.do(a, login, 400, request{method: "POST", path: "/v1/login?mode=x", body: creds})
		c.do(a, login, 401, request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "nobody@example.com", "password": "wrong password"})})
		c.do(a, login, 403, request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": disabled.Email, "password": testPassword})})
		c.do(a, login, 403, request{method: "POST", path: "/v1/login", body: creds, header: crossSite})
		for _, op := range []string{login, refresh, "POST /v1/signup"} {
			c.do(a, op, 413, request{method: "POST", path: op[len("POST "):], body: big})
		}
		c.do(a, login, 415, request{method: "POST", path: "/v1/login", body: creds, contentType: "text/plain"})
		wrong := request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "locked@example.com", "password": "wrong password"})}
		for i := 0; ; i++ {
			if r := a.do(wrong); r.status == http.StatusTooManyRequests || i == 20 {
				c.response(login, http.StatusTooManyRequests, r)
				break
			}
		}

		r = c.do(a, refresh, 200, request{method: "POST", path: "/v1/token/refresh", body: jsonBody(map[string]string{"refresh_token": tk.RefreshToken})})
		decode(t, r, &tk)
		c.do(a, refresh, 200, request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{cookies[refreshCookie]}})
		c.do(a, refresh, 400, request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"nope"}`})
		c.do(a, refresh, 400, request{method: "POST", path: "/v1/token/refresh", body: `{}`})
		c.do(a, refresh, 403, request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"nope"}`, header: crossSite})
		c.do(a, refresh, 415, request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"nope"}`, contentType: "text/plain"})
		// A token cookie over 4096 bytes is refused (see TestCookieTooLarge).
		bigUser := a.addUser("big@example.com")
		bigCreds := jsonBody(map[string]string{"email": bigUser.Email, "password": testPassword})
		r = c.do(a, login, 200, request{method: "POST", path: "/v1/login?mode=cookie", body: bigCreds})
		a.setClaims(bigUser.Email, bigClaims)
		c.do(a, refresh, 500, request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{r.cookies()[refreshCookie]}})
		c.do(a, login, 500, request{method: "POST", path: "/v1/login?mode=cookie", body: bigCreds})

		const sessions, end, me = "GET /v1/sessions", "DELETE /v1/sessions/{id}", "GET /v1/me"
		c.do(a, sessions, 200, request{method: "GET", path: "/v1/sessions", bearer: tk.AccessToken})
		c.do(a, sessions, 400, request{method: "GET", path: "/v1/sessions", header: http.Header{"Authorization": {"Bearer a", "Bearer b"}}})
		c.do(a, sessions, 401, request{method: "GET", path: "/v1/sessions"})
		c.do(a, me, 200, request{method: "GET", path: "/v1/me", bearer: tk.AccessToken})
		c.do(a, me, 400, request{method: "GET", path: "/v1/me", header: http.Header{"Authorization": {""}}})
		c.do(a, me, 401, request{method: "GET", path: "/v1/me", bearer: "not.a.token"})
		other := a.login("alice@example.com")
		c.do(a, end, 204, request{method: "DELETE", path: "/v1/sessions/" + other.SessionID, bearer: tk.AccessToken})
		c.do(a, end, 404, request{method: "DELETE", path: "/v1/sessions/nope", bearer: tk.AccessToken})
		c.do(a, end, 401, request{method: "DELETE", path: "/v1/sessions/" + other.SessionID})
		c.do(a, end, 403, request{method: "DELETE", path: "/v1/sessions/" + other.SessionID, bearer: tk.AccessToken, header: crossSite})
		c.do(a, end, 400, request{method: "DELETE", path: "/v1/sessions/" + other.SessionID, header: http.Header{"Authorization": {"Bearer a", "Bearer b"}}})

		c.do(a, logout, 200, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":"others"}`})
		c.do(a, logout, 400, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":"everything"}`})
		c.do(a, logout, 401, request{method: "POST", path: "/v1/logout"})
		c.do(a, logout, 403, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, header: crossSite})
		c.do(a, logout, 413, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: big})
		c.do(a, logout, 415, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{}`, contentType: "text/plain"})
		c.do(a, logout, 200, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken})
		// By refresh token (TestLogoutWithRefreshToken).
		byRefresh := jsonBody(map[string]string{"refresh_token": a.login("alice@example.com").RefreshToken})
		c.do(a, logout, 400, request{method: "POST", path: "/v1/logout", bearer: a.login("alice@example.com").AccessToken, body: byRefresh})
		c.do(a, logout, 401, request{method: "POST", path: "/v1/logout", body: `{"refresh_token":"nope"}`})
		c.do(a, logout, 200, request{method: "POST", path: "/v1/logout", body: byRefresh})

		const signup = "POST /v1/signup"
		c.do(a, signup, 400, request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": "not an address", "password": testPassword})})
		c.do(a, signup, 400, request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": "new@example.com", "password": "short"})})
		c.do(a, signup, 403, request{method: "POST", path: "/v1/signup", body: creds, header: crossSite})
		c.do(a, signup, 415, request{method: "POST", path: "/v1/signup", body: creds, contentType: "text/plain"})
		c.do(a, signup, 201, request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": "new@example.com", "password": testPassword})})
		c.do(a, signup, 409, request{method: "POST", path: "/v1/signup", body: creds})
		for i := 0; ; i++ {
			r := a.do(request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": fmt.Sprintf("n%d@example.com", i), "password": testPassword})})
			if r.status == http.StatusTooManyRequests || i == specSignupLimit+2 {
				c.response(signup, http.StatusTooManyRequests, r)
				break
			}
		}
	}

	// revocations
	{
		reader := basicAuth(a.addClient("feed reader", client.ScopeRevocationsRead))
		noScope := basicAuth(a.addClient("no scope"))
		tk := a.login("alice@example.com")
		c.do(a, "POST /v1/logout", 200, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":"session"}`})
		a.revoke(store.KindSubject, disabled.ID)

		const page = "GET /v1/revocations"
		c.do(a, page, 200, request{method: "GET", path: "/v1/revocations?after=0&limit=10", header: reader})
		c.do(a, page, 400, request{method: "GET", path: "/v1/revocations?limit=0", header: reader})
		c.do(a, page, 401, request{method: "GET", path: "/v1/revocations"})
		c.do(a, page, 401, request{method: "GET", path: "/v1/revocations", header: basicAuth("c_nobody", "secret")})
		c.do(a, page, 403, request{method: "GET", path: "/v1/revocations", header: noScope})

		const stream = "GET /v1/revocations/stream"
		c.stream(a, reader, "")
		c.stream(a, reader, "?after=1000000")
		c.do(a, stream, 400, request{method: "GET", path: "/v1/revocations/stream", header: http.Header{"Authorization": reader["Authorization"], "Last-Event-ID": {"x"}}})
		c.do(a, stream, 401, request{method: "GET", path: "/v1/revocations/stream"})
		c.do(a, stream, 403, request{method: "GET", path: "/v1/revocations/stream", header: noScope})

		const poll = "POST /v1/revocations/poll"
		c.do(a, poll, 200, request{method: "POST", path: "/v1/revocations/poll", header: reader, body: `{"maxEvents":10,"returnImmediately":true}`})
		c.do(a, poll, 200, request{method: "POST", path: "/v1/revocations/poll", header: reader, body: `{"ack":["1"],"setErrs":{"2":{"err":"invalid_key","description":"x"}},"maxEvents":0,"returnImmediately":true}`})
		c.do(a, poll, 400, request{method: "POST", path: "/v1/revocations/poll", header: reader, body: `{"maxEvents":"ten"}`})
		c.do(a, poll, 413, request{method: "POST", path: "/v1/revocations/poll", header: reader, body: big})
		c.do(a, poll, 415, request{method: "POST", path: "/v1/revocations/poll", header: reader, body: `{}`, contentType: "text/plain"})
		c.do(a, poll, 401, request{method: "POST", path: "/v1/revocations/poll", body: `{}`})
		c.do(a, poll, 403, request{method: "POST", path: "/v1/revocations/poll", header: noScope, body: `{}`})
	}

	// oauth2
	{
		app, secret := o.addApp("App", clientOpts{firstParty: true})
		svc, svcSecret := o.tokens.register(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
		rs := basicAuth(a.addClient("resource service", client.ScopeIntrospect))
		noScope := basicAuth(a.addClient("no scope either"))
		auth := basicAuth(app.ID, secret)
		post := func(op string, want int, header http.Header, body url.Values) response {
			t.Helper()
			path := op[strings.IndexByte(op, ' ')+1:]
			return c.do(a, op, want, request{method: "POST", path: path, header: header, body: body.Encode(), contentType: form})
		}

		const tokenOp = "POST /oauth2/token"
		code, verifier := o.tokens.code(app, alice, "openid email offline_access")
		r := post(tokenOp, 200, auth, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appCallback}, "code_verifier": {verifier}})
		var tr tokenResponse
		decode(t, r, &tr)
		r = post(tokenOp, 200, auth, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "scope": {"email"}})
		var narrow tokenResponse
		decode(t, r, &narrow)
		r = post(tokenOp, 200, basicAuth(svc.ID, svcSecret), url.Values{"grant_type": {"client_credentials"}})
		var cc tokenResponse
		decode(t, r, &cc)
		post(tokenOp, 400, auth, url.Values{"grant_type": {"password"}})
		post(tokenOp, 400, auth, url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {appCallback}, "code_verifier": {verifier}})
		post(tokenOp, 401, basicAuth(app.ID, "wrong"), url.Values{"grant_type": {"client_credentials"}})
		bigForm := "x=" + strings.Repeat("a", server.DefaultMaxBody)
		for op, h := range map[string]http.Header{tokenOp: auth, "POST /oauth2/introspect": rs, "POST /oauth2/revoke": auth} {
			c.do(a, op, 413, request{method: "POST", path: op[len("POST "):], header: h, body: bigForm, contentType: form})
		}
		c.do(a, tokenOp, 415, request{method: "POST", path: "/oauth2/token", header: auth, body: `{"grant_type":"client_credentials"}`})

		const introspect = "POST /oauth2/introspect"
		v1 := a.login("alice@example.com")
		post(introspect, 200, rs, url.Values{"token": {v1.AccessToken}})
		post(introspect, 200, rs, url.Values{"token": {v1.RefreshToken}, "token_type_hint": {"refresh_token"}})
		post(introspect, 200, rs, url.Values{"token": {narrow.AccessToken}})
		post(introspect, 200, rs, url.Values{"token": {"nope"}})
		post(introspect, 400, rs, url.Values{})
		post(introspect, 401, nil, url.Values{"token": {"nope"}})
		post(introspect, 403, noScope, url.Values{"token": {"nope"}})
		c.do(a, introspect, 415, request{method: "POST", path: "/oauth2/introspect", header: rs, body: `{"token":"nope"}`})

		const userinfo, userinfoPost = "GET /oauth2/userinfo", "POST /oauth2/userinfo"
		c.do(a, userinfo, 200, request{method: "GET", path: "/oauth2/userinfo", bearer: v1.AccessToken})
		c.do(a, userinfo, 200, request{method: "GET", path: "/oauth2/userinfo", bearer: tr.AccessToken})
		c.do(a, userinfoPost, 200, request{method: "POST", path: "/oauth2/userinfo", bearer: v1.AccessToken})
		c.do(a, userinfo, 400, request{method: "GET", path: "/oauth2/userinfo", header: http.Header{"Authorization": {"Bearer a", "Bearer b"}}})
		c.do(a, userinfo, 401, request{method: "GET", path: "/oauth2/userinfo"})
		c.do(a, userinfo, 401, request{method: "GET", path: "/oauth2/userinfo", bearer: cc.AccessToken})
		c.do(a, userinfoPost, 401, request{method: "POST", path: "/oauth2/userinfo", bearer: "nope"})
		c.do(a, userinfoPost, 400, request{method: "POST", path: "/oauth2/userinfo", header: http.Header{"Authorization": {""}}})
		c.do(a, userinfo, 403, request{method: "GET", path: "/oauth2/userinfo", bearer: narrow.AccessToken})
		c.do(a, userinfoPost, 403, request{method: "POST", path: "/oauth2/userinfo", bearer: narrow.AccessToken})

		const revoke = "POST /oauth2/revoke"
		post(revoke, 200, auth, url.Values{"token": {narrow.RefreshToken}})
		post(revoke, 200, auth, url.Values{"token": {"nope"}, "token_type_hint": {"access_token"}})
		post(revoke, 400, auth, url.Values{})
		post(revoke, 401, basicAuth(app.ID, "wrong"), url.Values{"token": {"nope"}})
		c.do(a, revoke, 415, request{method: "POST", path: "/oauth2/revoke", header: auth, body: `{"token":"nope"}`})
		post(introspect, 200, rs, url.Values{"token": {narrow.RefreshToken}})
	}

	// documents
	{
		for _, op := range []string{"GET /.well-known/jwks.json", "GET /.well-known/openid-configuration", "GET /.well-known/oauth-authorization-server", "GET /healthz", "GET /readyz", "GET /metrics"} {
			c.do(a, op, 200, request{method: "GET", path: op[len("GET "):]})
		}
	}

	// browser
	{
		app, secret := o.addApp("Web", clientOpts{firstParty: true})
		third, _ := o.addApp("Third", clientOpts{})
		b := o.newBrowser()
		get := func(op string, want int, path string) response {
			t.Helper()
			r := b.get(path)
			c.response(op, want, r)
			return r
		}
		postForm := func(op string, want int, path string, f url.Values) response {
			t.Helper()
			r := b.post(path, f)
			c.response(op, want, r)
			return r
		}

		ar := newAuthRequest(app)
		r := get("GET /oauth2/authorize", 200, ar.path())
		f := wantLoginPage(t, r, http.StatusOK, ar.q.Encode(), "https://app.example.com")
		get("GET /oauth2/authorize", 400, newAuthRequest(app).with("client_id", "c_nobody").path())
		get("GET /oauth2/authorize", 303, newAuthRequest(app).with("response_type", "token").path())
		get("GET /login", 200, "/login")
		get("GET /account", 303, "/account")
		postForm("POST /login", 403, "/login", url.Values{web.EmailField: {"alice@example.com"}})
		postForm("POST /account", 303, "/account", url.Values{})
		r = b.send(mustRequest(t, "POST", b.base+"/login", "x=1", "text/plain"))
		c.response("POST /login", 415, r)
		lf := url.Values{}
		for k, v := range f {
			lf[k] = v
		}
		lf.Set(web.PasswordField, "wrong password")
		postForm("POST /login", 401, "/login", lf)
		lf.Set(web.PasswordField, "")
		postForm("POST /login", 400, "/login", lf)
		code := wantCode(t, postForm("POST /login", 303, "/login", f), ar)
		tr := o.redeem(app, secret, code, ar)
		get("GET /oauth2/authorize", 303, newAuthRequest(app).path())
		get("GET /login", 303, "/login")

		tar := newAuthRequest(third)
		r = get("GET /oauth2/authorize", 200, tar.path())
		cf := url.Values{web.RequestField: {tar.q.Encode()}, web.CSRFField: {formValue(t, r, web.CSRFField)}, web.DecisionField: {web.DecisionAllow}}
		postForm("POST /consent", 303, "/consent", cf)
		postForm("POST /consent", 403, "/consent", url.Values{web.RequestField: {tar.q.Encode()}, web.DecisionField: {web.DecisionAllow}})

		r = get("GET /account", 200, "/account")
		af := url.Values{web.CSRFField: {formValue(t, r, web.CSRFField)}}
		af.Set(web.OpField, web.OpLogoutOthers)
		postForm("POST /account", 303, "/account", af)
		af.Set(web.OpField, "nonsense")
		postForm("POST /account", 400, "/account", af)
		af.Set(web.OpField, web.OpLogoutSession)
		af.Set(web.SessionField, strings.Repeat("0", 32))
		postForm("POST /account", 404, "/account", af)
		postForm("POST /account", 403, "/account", url.Values{web.OpField: {web.OpLogoutOthers}})

		r = get("GET /account", 200, "/account")
		if m := regexp.MustCompile(`href="(/static/[^"]+)"`).FindStringSubmatch(string(r.body)); m == nil {
			t.Errorf("GET /account: no style sheet link")
		} else {
			get("GET /static/{file}", 200, m[1])
		}
		get("GET /static/{file}", 404, "/static/nope.css")

		// Signed in: a confirmation page, whose post signs out.
		get("GET /oauth2/logout", 400, "/oauth2/logout?client_id=c_nobody")
		postForm("POST /oauth2/logout", 400, "/oauth2/logout", url.Values{"client_id": {"c_nobody"}})
		postForm("POST /oauth2/logout", 403, "/oauth2/logout", url.Values{web.CSRFField: {"forged"}})
		r = get("GET /oauth2/logout", 200, "/oauth2/logout")
		postForm("POST /oauth2/logout", 200, "/oauth2/logout", url.Values{web.CSRFField: {formValue(t, r, web.CSRFField)}})
		// Signed out: straight back to the application.
		back := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {appLogoutBack}, "state": {"s"}}
		get("GET /oauth2/logout", 303, "/oauth2/logout?"+back.Encode())
		postForm("POST /oauth2/logout", 303, "/oauth2/logout", back)
		postForm("POST /account", 303, "/account", url.Values{web.OpField: {web.OpLogoutOthers}})

		// A third-party application: sign-in answers with the consent
		// page; the account page's sign-out of its own device with the
		// signed-out page.
		fourth, _ := o.addApp("Fourth", clientOpts{})
		b = o.newBrowser()
		tar = newAuthRequest(fourth)
		f = wantLoginPage(t, b.get(tar.path()), http.StatusOK, tar.q.Encode(), "https://app.example.com")
		postForm("POST /login", 200, "/login", f)
		own := o.browserSessionOf(b)
		r = get("GET /account", 200, "/account")
		postForm("POST /account", 200, "/account", url.Values{web.CSRFField: {formValue(t, r, web.CSRFField)}, web.OpField: {web.OpLogoutSession}, web.SessionField: {own.ID}})
	}

	// failures
	{
		tk := a.login("alice@example.com")
		// A path or method the server does not serve: the Error schema.
		for _, rq := range []request{{method: "GET", path: "/nowhere"}, {method: "PUT", path: "/v1/login"}} {
			r := a.do(rq)
			dec := json.NewDecoder(bytes.NewReader(r.body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil || (r.status != 404 && r.status != 405) {
				t.Errorf("%s = %v, want a 404 or 405 JSON error", r.req, r)
			} else if err := spec.validate(map[string]any{"$ref": "#/components/schemas/Error"}, v, "$"); err != nil {
				t.Errorf("%s = %v: %v", r.req, r, err)
			}
		}
		// Another process holding the database's write lock: writes are
		// shed, and the server is not ready.
		release := a.holdWriteLock()
		c.do(a, "POST /v1/login", 503, request{method: "POST", path: "/v1/login", body: creds})
		c.do(a, "POST /v1/token/refresh", 503, request{method: "POST", path: "/v1/token/refresh", body: jsonBody(map[string]string{"refresh_token": tk.RefreshToken})})
		c.do(a, "POST /v1/logout", 503, request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken})
		release()
		c.do(a, "GET /readyz", 200, request{method: "GET", path: "/readyz"})
		a.srv.StartDrain()
		c.do(a, "GET /readyz", 503, request{method: "GET", path: "/readyz"})
	}

	// Every (route, status) the server answered, as its metrics count
	// them, is documented: nothing the test sent went unchecked.
	scrape := a.metrics()
	re := regexp.MustCompile(`(?m)^latch_http_request_duration_seconds_count\{code="(\d+)",route="([^"]+)"\}`)
	ops := spec.operations()
	for _, m := range re.FindAllStringSubmatch(scrape, -1) {
		status, route := m[1], m[2]
		if route == "unmatched" {
			continue
		}
		var op string
		for o := range ops {
			if documents(o, route) {
				op = o
			}
		}
		if op == "" {
			t.Errorf("metrics: route %q answered, not documented", route)
			continue
		}
		if _, ok := ops[op]["responses"].(map[string]any)[status]; !ok {
			t.Errorf("metrics: %s answered %s, which is not documented", route, status)
		}
	}

	// Every documented response was provoked, but those shared or listed.
	responses, refs, err := spec.responseKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range slices.Sorted(maps.Keys(responses)) {
		_, listed := unexercised[key]
		switch {
		case c.seen[key] && listed:
			t.Errorf("%s is listed as unexercised, but was provoked: take it off the list", key)
		case c.seen[key] || listed || slices.Contains(sharedFailureResponses, refs[key]):
		default:
			t.Errorf("documented response %s was not provoked: provoke it, or list it in unexercised with the reason", key)
		}
	}
	for key := range unexercised {
		if _, ok := responses[key]; !ok {
			t.Errorf("unexercised lists %s, which is not documented", key)
		}
	}
	for _, ev := range []string{"revocation", "heartbeat", "snapshot"} {
		if !c.seen["event "+ev] {
			t.Errorf("the stream sent no %q event", ev)
		}
	}
}

// mustRequest builds a request with a body of content type ct.
func mustRequest(t *testing.T, method, url, body, ct string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return req
}
