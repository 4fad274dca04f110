package strictjson_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/latch-auth/latch/internal/strictjson"
)

// addSeeds adds every testdata/*.json file and every table document.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tt := range validDocuments {
		f.Add([]byte(tt.in))
	}
	for _, tt := range invalidDocuments {
		if len(tt.in) < 1<<10 {
			f.Add([]byte(tt.in))
		}
	}
}

// FuzzValidate is a differential test against encoding/json: strictjson
// may refuse what encoding/json accepts, never the reverse. A rejection has
// exactly one kind; an accepted string reads back as encoding/json reads it.
func FuzzValidate(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		data := slices.Clone(in)
		err := strictjson.Validate(data)
		if !slices.Equal(data, in) {
			t.Fatalf("Validate(%q) modified its input to %q", in, data)
		}
		if err != nil {
			n := 0
			for _, k := range kinds {
				if errors.Is(err, k) {
					n++
				}
			}
			var se *strictjson.SyntaxError
			if n != 1 || !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(in) {
				t.Fatalf("Validate(%q) = %#v, want a *SyntaxError of exactly one kind within the input", in, err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("Validate(%q) = nil, but encoding/json rejects it", in)
		}
		var s string
		if in[skipSpace(in)] == '"' {
			if err := json.Unmarshal(in, &s); err != nil {
				t.Fatalf("Validate(%q) = nil, but encoding/json cannot read it as a string: %v", in, err)
			}
			// A top-level string: read it as a member value and compare.
			doc := append(append([]byte(`{"v":`), in...), '}')
			o := strictjson.NewObject(doc)
			if !o.Next(doc) {
				t.Fatalf("iterating %q: %v", doc, o.Err())
			}
			if got := strictjson.Unquote(doc, o.Value(), nil); string(got) != s {
				t.Fatalf("Unquote(%q) = %q, encoding/json reads %q", in, got, s)
			}
		}
	})
}

// FuzzObject iterates any input as an object: it never panics, it agrees
// with Validate, and a successful iteration yields unique names that are
// exactly the keys encoding/json sees.
func FuzzObject(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		data := slices.Clone(in)
		var names []string
		o := strictjson.NewObject(data)
		for o.Next(data) {
			v := o.Value()
			if v.Start < 0 || v.Start >= v.End || v.End > len(data) {
				t.Fatalf("iterating %q: value at [%d:%d] outside the input", in, v.Start, v.End)
			}
			names = append(names, string(o.Name(data)))
		}
		err := o.Err()
		verr := strictjson.Validate(in)
		isObject := len(in) > 0 && in[skipSpace(in)] == '{'
		if err != nil {
			if verr == nil && isObject {
				t.Fatalf("iterating %q: %v, but Validate accepts it", in, err)
			}
			return
		}
		if verr != nil {
			t.Fatalf("iterating %q succeeded with names %q, but Validate = %v", in, names, verr)
		}
		seen := make(map[string]bool, len(names))
		for _, n := range names {
			if seen[n] {
				t.Fatalf("iterating %q yielded name %q twice", in, n)
			}
			if !utf8.ValidString(n) {
				t.Fatalf("iterating %q yielded name %q, which is not UTF-8", in, n)
			}
			seen[n] = true
		}
		var std map[string]json.RawMessage
		if err := json.Unmarshal(in, &std); err != nil {
			t.Fatalf("iterating %q succeeded, but encoding/json: %v", in, err)
		}
		if len(std) != len(names) {
			t.Fatalf("iterating %q yielded %d names %q, encoding/json sees %d", in, len(names), names, len(std))
		}
		for _, n := range names {
			if _, ok := std[n]; !ok {
				t.Fatalf("iterating %q yielded name %q, which encoding/json does not see", in, n)
			}
		}
	})
}

// FuzzAppendQuoted checks that what AppendQuoted writes reads back byte for
// byte, through this package and through encoding/json, and that it refuses
// exactly the strings that are not UTF-8.
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "JWT", "a\"b\\c", "\x00\x1f\x7f", "<>&", "é😀", "\u2028", "\xff", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := strictjson.AppendQuoted(nil, s)
		if !utf8.ValidString(s) {
			if !errors.Is(err, strictjson.ErrSyntax) || len(out) != 0 {
				t.Fatalf("AppendQuoted(%q) = %q, %v, want refusal with %v", s, out, err, strictjson.ErrSyntax)
			}
			return
		}
		if err != nil {
			t.Fatalf("AppendQuoted(%q) error: %v", s, err)
		}
		if err := strictjson.Validate(out); err != nil {
			t.Fatalf("Validate(AppendQuoted(%q) = %q) = %v", s, out, err)
		}
		var std string
		if err := json.Unmarshal(out, &std); err != nil || std != s {
			t.Fatalf("json.Unmarshal(AppendQuoted(%q) = %q) = %q, %v", s, out, std, err)
		}
		doc := append(append([]byte(`{"v":`), out...), '}')
		o := strictjson.NewObject(doc)
		if !o.Next(doc) {
			t.Fatalf("iterating %q: %v", doc, o.Err())
		}
		if got := strictjson.Unquote(doc, o.Value(), nil); string(got) != s {
			t.Fatalf("Unquote(AppendQuoted(%q)) = %q", s, got)
		}
	})
}

func skipSpace(b []byte) int {
	i := 0
	for i < len(b)-1 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
