package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/strictjson"
)

// members returns a JSON object text with n distinct members "m0" … "m<n-1>"
// followed by extra, which is spliced in verbatim before the closing brace.
func members(n int, extra string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"m%d":%d`, i, i)
	}
	b.WriteString(extra)
	b.WriteByte('}')
	return b.String()
}

// nest wraps inner in depth arrays.
func nest(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

// nestObjects wraps inner in depth objects, each with the single member "a".
func nestObjects(depth int, inner string) string {
	return strings.Repeat(`{"a":`, depth) + inner + strings.Repeat("}", depth)
}

// validDocuments are accepted by Validate, and by encoding/json.
var validDocuments = []struct {
	name string
	in   string
}{
	{"empty object", `{}`},
	{"empty array", `[]`},
	{"empty string", `""`},
	{"zero", `0`},
	{"negative zero", `-0`},
	{"fraction", `1.5`},
	{"exponent", `-12.25e+10`},
	{"upper exponent", `6.02E23`},
	{"negative exponent", `1e-7`},
	{"zero fraction", `0.0`},
	{"big integer", `123456789012345678901234567890`},
	{"true", `true`},
	{"false", `false`},
	{"null", `null`},
	{"surrounding white space", " \t\r\n{} \n\t\r "},
	{"white space everywhere", "{ \"a\" : [ 1 , 2 ] , \"b\" :\n{ } }"},
	{"jws header", `{"alg":"ES256","kid":"2024-10-01","typ":"at+jwt"}`},
	{"nested", `{"a":[1,{"b":null}],"c":{"d":{"e":[true,false]}}}`},
	{"escapes", `"\"\\\/\b\f\n\r\t"`},
	{"unicode escapes", `"\u0041\u00e9\u20AC\ud83d\ude00\uDBFF\uDFFF"`},
	{"escaped NUL", `"\u0000"`},
	{"raw UTF-8", `"é€😀"`},
	{"raw U+FFFD", "\"\uFFFD\""},
	{"raw DEL", "\"\x7f\""},
	{"same name in nested objects", `{"a":{"a":{"a":1}}}`},
	{"same name in sibling objects", `[{"a":1},{"a":2}]`},
	{"names differ in case", `{"a":1,"A":2}`},
	{"names differ after seven bytes", `{"abcdefgh1":1,"abcdefgh2":2}`},
	{"names share a prefix", `{"kid":1,"kid2":2,"ki":3}`},
	{"empty name", `{"":1}`},
	{"escaped name distinct from raw", `{"\u0041":1,"a":2}`},
	{"sixteen members", members(16, "")},
	{"seventeen members", members(17, "")},
	{"forty members", members(40, "")},
	{"forty members and escaped names", members(40, `,"\u006d40":40,"\u00e9":0,"é2":0`)},
	{"depth 32 of arrays", nest(32, "1")},
	{"depth 32 of empty arrays", nest(31, "[]")},
	{"depth 32 of objects", nestObjects(32, "1")},
	{"depth 32 of empty objects", nestObjects(31, "{}")},
}

// invalidDocuments are refused by Validate with the given kind.
var invalidDocuments = []struct {
	name string
	in   string
	want error
}{
	// Duplicate names, compared after unescaping, at every level.
	{"duplicate at top level", `{"a":1,"a":2}`, strictjson.ErrDuplicateName},
	{"duplicate with equal values", `{"alg":"HS256","alg":"HS256"}`, strictjson.ErrDuplicateName},
	{"duplicate empty name", `{"":1,"":2}`, strictjson.ErrDuplicateName},
	{"duplicate long name", `{"abcdefghijklmnop":1,"x":0,"abcdefghijklmnop":2}`, strictjson.ErrDuplicateName},
	{"duplicate nested", `{"x":{"a":1,"a":2}}`, strictjson.ErrDuplicateName},
	{"duplicate in object in array", `[{"a":1,"a":2}]`, strictjson.ErrDuplicateName},
	{"duplicate in second object in array", `[{"a":1},{"b":1,"b":2}]`, strictjson.ErrDuplicateName},
	{"duplicate deep inside arrays", `{"x":[[{"y":{"a":1,"a":1}}]]}`, strictjson.ErrDuplicateName},
	{"duplicate after nested value", `{"a":{"b":[1,2]},"a":{"b":[1,2]}}`, strictjson.ErrDuplicateName},
	{"duplicate via escape", `{"a":1,"\u0061":2}`, strictjson.ErrDuplicateName},
	{"duplicate via escape first", `{"\u0061lg":1,"alg":2}`, strictjson.ErrDuplicateName},
	{"duplicate via two escapes", `{"\u0061":1,"\u0061":2}`, strictjson.ErrDuplicateName},
	{"duplicate via solidus escape", `{"\/":1,"/":2}`, strictjson.ErrDuplicateName},
	{"duplicate via non-ASCII escape", `{"é":1,"\u00e9":2}`, strictjson.ErrDuplicateName},
	{"duplicate via surrogate pair", `{"😀":1,"\ud83d\ude00":2}`, strictjson.ErrDuplicateName},
	{"duplicate via escape nested", `{"x":[{"kid":1,"\u006bid":2}]}`, strictjson.ErrDuplicateName},
	{"17th member repeats the 1st", members(16, `,"m0":0`), strictjson.ErrDuplicateName},
	{"25 members, last repeats the 3rd", members(24, `,"m2":0`), strictjson.ErrDuplicateName},
	{"25 members, last repeats the 20th", members(24, `,"m19":0`), strictjson.ErrDuplicateName},
	{"40 members, duplicate via escape late", members(40, `,"\u006d33":0`), strictjson.ErrDuplicateName},
	{"30 members nested, duplicate late", `{"x":` + members(30, `,"m29":0`) + `}`, strictjson.ErrDuplicateName},

	// Strings: UTF-8, surrogates, control characters, escapes.
	{"invalid UTF-8 byte", "\"\xff\"", strictjson.ErrSyntax},
	{"invalid UTF-8 in name", "{\"\xfe\":1}", strictjson.ErrSyntax},
	{"overlong UTF-8", "\"\xc0\xaf\"", strictjson.ErrSyntax},
	{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", strictjson.ErrSyntax},
	{"truncated UTF-8", "\"\xe2\x82\"", strictjson.ErrSyntax},
	{"UTF-8 beyond U+10FFFF", "\"\xf4\x90\x80\x80\"", strictjson.ErrSyntax},
	{"invalid UTF-8 outside a string", "\xff", strictjson.ErrSyntax},
	{"lone high surrogate", `"\ud800"`, strictjson.ErrSyntax},
	{"lone low surrogate", `"\udc00"`, strictjson.ErrSyntax},
	{"high surrogate then text", `"\ud83dx"`, strictjson.ErrSyntax},
	{"high surrogate then non-surrogate escape", `"\ud83d\u0041"`, strictjson.ErrSyntax},
	{"two high surrogates", `"\ud83d\ud83d"`, strictjson.ErrSyntax},
	{"surrogates reversed", `"\ude00\ud83d"`, strictjson.ErrSyntax},
	{"high surrogate then other escape", `"\ud83d\n"`, strictjson.ErrSyntax},
	{"high surrogate at end of input", `"\ud83d`, strictjson.ErrSyntax},
	{"lone surrogate in name", `{"\udfff":1}`, strictjson.ErrSyntax},
	{"raw NUL", "\"\x00\"", strictjson.ErrSyntax},
	{"raw unit separator", "\"\x1f\"", strictjson.ErrSyntax},
	{"raw newline", "\"a\nb\"", strictjson.ErrSyntax},
	{"raw tab", "\"\t\"", strictjson.ErrSyntax},
	{"escape x", `"\x41"`, strictjson.ErrSyntax},
	{"escape a", `"\a"`, strictjson.ErrSyntax},
	{"escape quote", `"\'"`, strictjson.ErrSyntax},
	{"escape upper U", `"\U0041"`, strictjson.ErrSyntax},
	{"short unicode escape", `"\u12"`, strictjson.ErrSyntax},
	{"non-hex unicode escape", `"\u12g4"`, strictjson.ErrSyntax},
	{"escaped escape end", `"\`, strictjson.ErrSyntax},
	{"escape at end of input", `"abc\`, strictjson.ErrSyntax},
	{"single quotes", `'a'`, strictjson.ErrSyntax},

	// Structure.
	{"trailing comma in array", `[1,]`, strictjson.ErrSyntax},
	{"trailing comma in object", `{"a":1,}`, strictjson.ErrSyntax},
	{"trailing comma nested", `{"a":[{"b":1,}]}`, strictjson.ErrSyntax},
	{"lone comma in array", `[,]`, strictjson.ErrSyntax},
	{"lone comma in object", `{,}`, strictjson.ErrSyntax},
	{"double comma", `[1,,2]`, strictjson.ErrSyntax},
	{"missing comma", `[1 2]`, strictjson.ErrSyntax},
	{"missing colon", `{"a" 1}`, strictjson.ErrSyntax},
	{"missing value", `{"a":}`, strictjson.ErrSyntax},
	{"unquoted name", `{a:1}`, strictjson.ErrSyntax},
	{"number as name", `{1:1}`, strictjson.ErrSyntax},
	{"mismatched brackets", `[}`, strictjson.ErrSyntax},
	{"comment", `{}//`, strictjson.ErrSyntax},
	{"form feed is not white space", "\f{}", strictjson.ErrSyntax},
	{"byte order mark", "\xef\xbb\xbf{}", strictjson.ErrSyntax},
	{"non-breaking space", "\u00a0{}", strictjson.ErrSyntax},

	// Numbers.
	{"leading zero", `01`, strictjson.ErrSyntax},
	{"negative leading zero", `-01`, strictjson.ErrSyntax},
	{"leading zero in array", `[00]`, strictjson.ErrSyntax},
	{"leading zero in object", `{"a":007}`, strictjson.ErrSyntax},
	{"dot without fraction", `1.`, strictjson.ErrSyntax},
	{"dot without integer", `.5`, strictjson.ErrSyntax},
	{"dot before exponent", `1.e5`, strictjson.ErrSyntax},
	{"lone minus", `-`, strictjson.ErrSyntax},
	{"minus in array", `[-]`, strictjson.ErrSyntax},
	{"exponent without digits", `1e`, strictjson.ErrSyntax},
	{"exponent sign without digits", `1e+`, strictjson.ErrSyntax},
	{"plus sign", `+1`, strictjson.ErrSyntax},
	{"hexadecimal", `0x10`, strictjson.ErrSyntax},
	{"NaN", `NaN`, strictjson.ErrSyntax},
	{"Infinity", `-Infinity`, strictjson.ErrSyntax},

	// Literals.
	{"truncated true", `tru`, strictjson.ErrSyntax},
	{"capital True", `True`, strictjson.ErrSyntax},
	{"truncated null in array", `[nul]`, strictjson.ErrSyntax},
	{"literal with suffix", `falsey`, strictjson.ErrSyntax},

	// Trailing data after the value.
	{"two objects", `{} {}`, strictjson.ErrSyntax},
	{"two numbers", `1 2`, strictjson.ErrSyntax},
	{"garbage after object", `{"alg":"HS256"}x`, strictjson.ErrSyntax},
	{"two strings", `"a""b"`, strictjson.ErrSyntax},
	{"extra close", `[]]`, strictjson.ErrSyntax},
	{"NUL after value", "{}\x00", strictjson.ErrSyntax},

	// Unterminated input.
	{"empty input", ``, strictjson.ErrSyntax},
	{"only white space", " \n\t", strictjson.ErrSyntax},
	{"open brace", `{`, strictjson.ErrSyntax},
	{"open bracket", `[`, strictjson.ErrSyntax},
	{"unterminated string", `"abc`, strictjson.ErrSyntax},
	{"name without colon", `{"a"`, strictjson.ErrSyntax},
	{"name without value", `{"a":`, strictjson.ErrSyntax},
	{"object without close", `{"a":1`, strictjson.ErrSyntax},
	{"array without close", `[1`, strictjson.ErrSyntax},
	{"array after comma", `[1,`, strictjson.ErrSyntax},
	{"unterminated unicode escape", `"\u00`, strictjson.ErrSyntax},
	{"unterminated name", `{"a`, strictjson.ErrSyntax},

	// Depth.
	{"depth 33 of arrays", nest(33, "1"), strictjson.ErrTooDeep},
	{"depth 33 of empty arrays", nest(32, "[]"), strictjson.ErrTooDeep},
	{"depth 33 of objects", nestObjects(33, "1"), strictjson.ErrTooDeep},
	{"depth 33 of empty objects", nestObjects(32, "{}"), strictjson.ErrTooDeep},
	{"depth 33 mixed", nest(16, nestObjects(17, "null")), strictjson.ErrTooDeep},
	{"depth 100000", nest(100000, ""), strictjson.ErrTooDeep},
	{"depth 100000 unterminated", strings.Repeat(`{"a":[`, 50000), strictjson.ErrTooDeep},
}

// kinds are the errors a rejection may match; it must match exactly one.
var kinds = []error{strictjson.ErrSyntax, strictjson.ErrDuplicateName, strictjson.ErrTooDeep}

// checkRejection reports whether err is a *SyntaxError of kind want and of
// no other kind, with an offset inside the input.
func checkRejection(t *testing.T, call string, in []byte, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil, want %v", call, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", call, err, want)
	}
	for _, k := range kinds {
		if k != want && errors.Is(err, k) {
			t.Errorf("%s = %v, which also matches %v", call, err, k)
		}
	}
	var se *strictjson.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%s = %T, want *strictjson.SyntaxError", call, err)
	}
	if se.Offset < 0 || se.Offset > len(in) {
		t.Errorf("%s offset = %d, want within [0, %d]", call, se.Offset, len(in))
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tt := range validDocuments {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.in)) {
				t.Fatalf("test case is not JSON by encoding/json: %q", tt.in)
			}
			if err := strictjson.Validate([]byte(tt.in)); err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tt.in, err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	for _, tt := range invalidDocuments {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			checkRejection(t, fmt.Sprintf("Validate(%.60q)", tt.in), in, strictjson.Validate(in), tt.want)
		})
	}
}

// readAll iterates the object data with an Object and returns its
// unescaped member names, or the iterator's error.
func readAll(data []byte) ([]string, error) {
	var names []string
	o := strictjson.NewObject(data)
	for o.Next(data) {
		names = append(names, string(o.Name(data)))
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	return names, nil
}

// TestObjectAgreesWithValidate checks that the iterator jose reads headers
// with accepts and refuses exactly what Validate does, with the same kind.
func TestObjectAgreesWithValidate(t *testing.T) {
	for _, tt := range validDocuments {
		if !strings.HasPrefix(strings.TrimLeft(tt.in, " \t\r\n"), "{") {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readAll([]byte(tt.in)); err != nil {
				t.Errorf("iterating %.60q: %v, want nil", tt.in, err)
			}
		})
	}
	for _, tt := range invalidDocuments {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			_, err := readAll(in)
			want := tt.want
			if !strings.HasPrefix(strings.TrimLeft(tt.in, " \t\r\n"), "{") {
				want = strictjson.ErrSyntax // not an object at all
			}
			checkRejection(t, fmt.Sprintf("iterating %.60q", tt.in), in, err, want)
		})
	}
}

func TestObjectMembers(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		names []string
		kinds []strictjson.Kind
	}{
		{"empty", ` { } `, nil, nil},
		{"jws header", `{"alg":"HS256","kid":"k1","typ":"JWT"}`,
			[]string{"alg", "kid", "typ"}, []strictjson.Kind{strictjson.String, strictjson.String, strictjson.String}},
		{"every kind", `{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null,"o":{"a":1},"a":[1]}`,
			[]string{"s", "n", "t", "f", "z", "o", "a"},
			[]strictjson.Kind{strictjson.String, strictjson.Number, strictjson.True, strictjson.False,
				strictjson.Null, strictjson.ObjectKind, strictjson.ArrayKind}},
		{"escaped names", `{"\u0061lg":1,"k\u00e9y":2,"\ud83d\ude00":3}`,
			[]string{"alg", "kéy", "😀"}, []strictjson.Kind{strictjson.Number, strictjson.Number, strictjson.Number}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.in)
			var names []string
			var kinds []strictjson.Kind
			o := strictjson.NewObject(data)
			for o.Next(data) {
				names = append(names, string(o.Name(data)))
				v := o.Value()
				kinds = append(kinds, v.Kind)
				if err := strictjson.Validate(v.Raw(data)); err != nil {
					t.Errorf("member %q raw value %q does not validate: %v", o.Name(data), v.Raw(data), err)
				}
			}
			if err := o.Err(); err != nil {
				t.Fatalf("iterating %q: %v", tt.in, err)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.names) || fmt.Sprint(kinds) != fmt.Sprint(tt.kinds) {
				t.Errorf("iterating %q = names %q kinds %v, want %q %v", tt.in, names, kinds, tt.names, tt.kinds)
			}
		})
	}
}

func TestNestedIterators(t *testing.T) {
	data := []byte(`{"keys":[{"kid":"a","ops":["sign","verify"]},{"kid":"b","ops":[]}],"n":1}`)
	var got []string
	o := strictjson.NewObject(data)
	for o.Next(data) {
		if string(o.Name(data)) != "keys" {
			continue
		}
		a := strictjson.NewArrayAt(data, o.Value())
		for a.Next(data) {
			k := strictjson.NewObjectAt(data, a.Value())
			for k.Next(data) {
				switch string(k.Name(data)) {
				case "kid":
					got = append(got, "kid="+string(strictjson.Unquote(data, k.Value(), nil)))
				case "ops":
					ops := strictjson.NewArrayAt(data, k.Value())
					for ops.Next(data) {
						got = append(got, "op="+string(strictjson.Unquote(data, ops.Value(), nil)))
					}
					if err := ops.Err(); err != nil {
						t.Fatalf("ops: %v", err)
					}
				}
			}
			if err := k.Err(); err != nil {
				t.Fatalf("key: %v", err)
			}
		}
		if err := a.Err(); err != nil {
			t.Fatalf("keys: %v", err)
		}
	}
	if err := o.Err(); err != nil {
		t.Fatalf("top: %v", err)
	}
	want := "[kid=a op=sign op=verify kid=b]"
	if fmt.Sprint(got) != want {
		t.Errorf("nested iteration = %v, want %v", got, want)
	}
}

func TestIteratorOnWrongKind(t *testing.T) {
	data := []byte(`{"s":"x","a":[1]}`)
	o := strictjson.NewObject(data)
	var str, arr strictjson.Value
	for o.Next(data) {
		if string(o.Name(data)) == "s" {
			str = o.Value()
		} else {
			arr = o.Value()
		}
	}
	if err := o.Err(); err != nil {
		t.Fatal(err)
	}
	obj := strictjson.NewObjectAt(data, str)
	if obj.Next(data) {
		t.Errorf("NewObjectAt(string value).Next = true, want false")
	}
	if err := obj.Err(); !errors.Is(err, strictjson.ErrSyntax) {
		t.Errorf("NewObjectAt(string value).Err() = %v, want %v", err, strictjson.ErrSyntax)
	}
	ar := strictjson.NewArrayAt(data, str)
	if ar.Next(data) {
		t.Errorf("NewArrayAt(string value).Next = true, want false")
	}
	if err := ar.Err(); !errors.Is(err, strictjson.ErrSyntax) {
		t.Errorf("NewArrayAt(string value).Err() = %v, want %v", err, strictjson.ErrSyntax)
	}
	obj = strictjson.NewObjectAt(data, arr)
	if err := obj.Err(); obj.Next(data) || !errors.Is(err, strictjson.ErrSyntax) {
		t.Errorf("NewObjectAt(array value): Err() = %v, want %v", err, strictjson.ErrSyntax)
	}
}

func TestObjectNotFullyRead(t *testing.T) {
	data := []byte(`{"a":1,"b":2}`)
	o := strictjson.NewObject(data)
	if !o.Next(data) {
		t.Fatalf("Next = false, want true: %v", o.Err())
	}
	if err := o.Err(); !errors.Is(err, strictjson.ErrSyntax) {
		t.Errorf("Err() before the end = %v, want %v", err, strictjson.ErrSyntax)
	}
}

// stringValue locates the JSON string lit (quotes included) by reading it
// as the value of a one-member object.
func stringValue(t *testing.T, lit string) ([]byte, strictjson.Value) {
	t.Helper()
	data := []byte(`{"v":` + lit + `}`)
	o := strictjson.NewObject(data)
	if !o.Next(data) {
		t.Fatalf("reading %s: %v", lit, o.Err())
	}
	v := o.Value()
	if o.Next(data) || o.Err() != nil || v.Kind != strictjson.String {
		t.Fatalf("reading %s: kind %v, err %v", lit, v.Kind, o.Err())
	}
	return data, v
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		name string
		lit  string
		want string
	}{
		{"plain", `"plain text"`, "plain text"},
		{"empty", `""`, ""},
		{"quote and backslash", `"a\"b\\c"`, "a\"b\\c"},
		{"solidus", `"\/path\/"`, "/path/"},
		{"short escapes", `"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{"NUL", `"\u0000"`, "\x00"},
		{"ASCII escape", `"\u0061lg"`, "alg"},
		{"two-byte", `"\u00e9"`, "é"},
		{"three-byte", `"\u20ac"`, "€"},
		{"upper-case hex", `"\u20AC\u00C9"`, "€É"},
		{"surrogate pair", `"\ud83d\ude00"`, "😀"},
		{"upper-case surrogate pair", `"\uD83D\uDE00"`, "😀"},
		{"highest code point", `"\udbff\udfff"`, "\U0010FFFF"},
		{"lowest supplementary", `"\ud800\udc00"`, "\U00010000"},
		{"U+FFFF", `"\uffff"`, "\uffff"},
		{"U+FFFD escaped", `"\ufffd"`, "\ufffd"},
		{"mixed raw and escaped", `"é\u00e9😀\ud83d\ude00x"`, "éé😀😀x"},
		{"escape at both ends", `"\n middle \t"`, "\n middle \t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, v := stringValue(t, tt.lit)
			var std string
			if err := json.Unmarshal([]byte(tt.lit), &std); err != nil {
				t.Fatalf("encoding/json cannot read %s: %v", tt.lit, err)
			}
			if std != tt.want {
				t.Fatalf("test case disagrees with encoding/json: %q vs %q", tt.want, std)
			}
			if got := strictjson.Unquote(data, v, nil); string(got) != tt.want {
				t.Errorf("Unquote(%s) = %q, want %q", tt.lit, got, tt.want)
			}
			if got := strictjson.Unquote(data, v, []byte("prefix:")); v.Escaped && string(got) != "prefix:"+tt.want {
				t.Errorf("Unquote(%s, dst=prefix:) = %q, want %q", tt.lit, got, "prefix:"+tt.want)
			}
			if wantEscaped := strings.Contains(tt.lit, `\`); v.Escaped != wantEscaped {
				t.Errorf("Value(%s).Escaped = %v, want %v", tt.lit, v.Escaped, wantEscaped)
			}
		})
	}
}

func TestUnquoteAliasesWithoutEscapes(t *testing.T) {
	data, v := stringValue(t, `"kid-1"`)
	got := strictjson.Unquote(data, v, nil)
	s, _ := v.Inner()
	if len(got) == 0 || &got[0] != &data[s] {
		t.Errorf("Unquote of an unescaped string copied it; want a slice of the input")
	}
}

func TestAppendQuoted(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"plain", "at+jwt"},
		{"quote", `say "hi"`},
		{"backslash", `C:\path`},
		{"control characters", "\x00\x01\x08\x0b\x0c\x1f"},
		{"short escapes", "\n\r\t\b\f"},
		{"HTML", "<script>&amp;</script>"},
		{"non-ASCII", "é€😀\U0010FFFF"},
		{"line separators", "\u2028\u2029"},
		{"DEL", "\x7f"},
		{"U+FFFD", "\ufffd"},
		{"solidus", "a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := strictjson.AppendQuoted([]byte("prefix:"), tt.in)
			if err != nil {
				t.Fatalf("AppendQuoted(%q) error: %v", tt.in, err)
			}
			lit, ok := bytes.CutPrefix(out, []byte("prefix:"))
			if !ok {
				t.Fatalf("AppendQuoted(%q) = %q, lost the prefix", tt.in, out)
			}
			if err := strictjson.Validate(lit); err != nil {
				t.Errorf("Validate(AppendQuoted(%q) = %q) = %v", tt.in, lit, err)
			}
			var std string
			if err := json.Unmarshal(lit, &std); err != nil || std != tt.in {
				t.Errorf("json.Unmarshal(AppendQuoted(%q) = %q) = %q, %v, want %q", tt.in, lit, std, err, tt.in)
			}
			data, v := stringValue(t, string(lit))
			if got := strictjson.Unquote(data, v, nil); string(got) != tt.in {
				t.Errorf("Unquote(AppendQuoted(%q)) = %q", tt.in, got)
			}
		})
	}
}

func TestAppendQuotedRefusesInvalidUTF8(t *testing.T) {
	for _, in := range []string{"\xff", "kid\xfe", "\xc0\xaf", "\xed\xa0\x80", "ok\xe2\x82"} {
		out, err := strictjson.AppendQuoted([]byte("prefix:"), in)
		if !errors.Is(err, strictjson.ErrSyntax) {
			t.Errorf("AppendQuoted(%q) error = %v, want %v", in, err, strictjson.ErrSyntax)
		}
		if string(out) != "prefix:" {
			t.Errorf("AppendQuoted(%q) = %q, want dst unchanged", in, out)
		}
	}
}
