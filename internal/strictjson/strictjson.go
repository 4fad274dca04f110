// Package strictjson reads JSON the way a security token must be read: one
// meaning per document or a rejection.
//
// It is the shared, standard-library-only reader under latch's public jose
// and jwt packages. Compared with encoding/json it refuses what encoding/json
// tolerates and an attacker can exploit for parser differentials:
//
//   - duplicate member names in any object, compared after unescaping
//     ("a" and "\u0061" are the same name), at every nesting level;
//   - invalid UTF-8 and unpaired UTF-16 surrogates in \u escapes (encoding/json
//     silently replaces them with U+FFFD);
//   - nesting deeper than MaxDepth;
//   - anything but whitespace after the top-level value.
//
// The reader does not allocate on the common path: an Object iterator lives
// on the caller's stack and member names and values are offsets into the
// caller's buffer.
package strictjson

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays accepted.
const MaxDepth = 32

// Errors reported by the reader. Each is wrapped in a *SyntaxError that
// carries the byte offset.
var (
	// ErrSyntax reports input that is not JSON.
	ErrSyntax = errors.New("strictjson: invalid JSON")
	// ErrDuplicateName reports an object with two members of the same name.
	ErrDuplicateName = errors.New("strictjson: duplicate member name")
	// ErrTooDeep reports nesting deeper than MaxDepth.
	ErrTooDeep = errors.New("strictjson: nesting too deep")
)

// SyntaxError locates a rejection in the input.
type SyntaxError struct {
	Offset int    // byte offset where the problem was found
	Msg    string // what was wrong there
	Err    error  // ErrSyntax, ErrDuplicateName or ErrTooDeep
}

// Error reports the kind, offset and detail of the rejection.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%v at offset %d: %s", e.Err, e.Offset, e.Msg)
}

// Unwrap returns the kind (ErrSyntax, ErrDuplicateName or ErrTooDeep).
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(off int, msg string) error {
	return &SyntaxError{Offset: off, Msg: msg, Err: ErrSyntax}
}

// Kind is the type of a JSON value.
type Kind uint8

// The kinds of JSON values.
const (
	Invalid Kind = iota
	String
	Number
	True
	False
	Null
	ObjectKind
	ArrayKind
)

// Value is one JSON value located in the buffer being read.
type Value struct {
	Start int // offset of the first byte of the value
	End   int // offset just past its last byte
	Kind  Kind
	// Escaped is set for a String that contains a backslash escape; its
	// text must then be obtained with Unquote rather than by slicing.
	Escaped bool
}

// Raw returns the bytes of v in data, the buffer it was read from.
func (v Value) Raw(data []byte) []byte { return data[v.Start:v.End] }

// Inner returns the offsets of a String's content between the quotes.
func (v Value) Inner() (start, end int) { return v.Start + 1, v.End - 1 }

// Unquote returns the text of a String value. When the string has no
// escapes the result aliases data; otherwise the decoded text is appended to
// dst. The value must come from this package's reader, which has already
// validated it.
func Unquote(data []byte, v Value, dst []byte) []byte {
	s, e := v.Inner()
	if !v.Escaped {
		return data[s:e]
	}
	return appendUnescaped(dst, data[s:e])
}

// Validate checks that data holds exactly one JSON value of any kind.
func Validate(data []byte) error {
	p := skipWS(data, 0)
	v, err := readValue(data, p, 0)
	if err != nil {
		return err
	}
	if q := skipWS(data, v.End); q != len(data) {
		return syntaxErr(q, "data after top-level value")
	}
	return nil
}

// readState is where an Object or Array iterator stands between members.
type readState uint8

const (
	afterOpen  readState = iota // just past '{' or '['
	afterComma                  // just past ','
	afterClose                  // at the closing '}' or ']'
)

// seenInline is how many member names an Object tracks before it switches
// to a map for duplicate detection.
const seenInline = 16

// Object iterates over the members of one JSON object, validating each
// value (recursively) and rejecting duplicate names.
//
// The iterator does not hold the input: every call that reads it takes the
// same data slice again. That keeps the caller's buffer out of the heap
// (Go's escape analysis would otherwise move it there), which is what lets
// jose verify a token without allocating for its header.
//
//	o := strictjson.NewObject(data)
//	for o.Next(data) {
//		name, v := o.Name(data), o.Value()
//		...
//	}
//	if err := o.Err(); err != nil { ... }
type Object struct {
	pos    int
	depth  int
	top    bool
	state  readState
	done   bool
	err    error
	name   Value
	val    Value
	names  nameSet
	endOff int
}

// NewObject returns an iterator over the object that is the whole of data
// (surrounding whitespace allowed). If data is not an object, the first
// Next returns false and Err says why.
func NewObject(data []byte) Object {
	o := Object{top: true}
	o.open(data, skipWS(data, 0))
	return o
}

// NewObjectAt returns an iterator over the object value v of data, as
// returned by a previous read.
func NewObjectAt(data []byte, v Value) Object {
	var o Object
	if v.Kind != ObjectKind {
		o.open(data, -1)
	} else {
		o.open(data, v.Start)
	}
	return o
}

// open starts the object whose '{' should be at p.
func (o *Object) open(data []byte, p int) {
	if p < 0 || p >= len(data) || data[p] != '{' {
		o.err = syntaxErr(max(p, 0), "expected an object")
		return
	}
	o.pos = p + 1
}

// Next advances to the next member of the object in data. It returns false
// at the end of the object or on error; Err tells which.
func (o *Object) Next(data []byte) bool {
	if o.err != nil || o.done {
		return false
	}
	p := skipWS(data, o.pos)
	switch o.state {
	case afterClose:
		return o.finish(data, p+1)
	case afterOpen:
		if p < len(data) && data[p] == '}' {
			return o.finish(data, p+1)
		}
	case afterComma:
		if p < len(data) && data[p] == '}' {
			o.err = syntaxErr(p, "trailing comma in object")
			return false
		}
	}
	name, val, next, err := readMember(data, p, o.depth)
	if err == nil {
		err = o.names.add(data, name)
	}
	if err != nil {
		o.err = err
		return false
	}
	o.name, o.val = name, val
	if data[next] == ',' {
		o.pos, o.state = next+1, afterComma
	} else {
		o.pos, o.state = next, afterClose
	}
	return true
}

func (o *Object) finish(data []byte, end int) bool {
	o.done = true
	o.endOff = end
	if o.top {
		if q := skipWS(data, end); q != len(data) {
			o.err = syntaxErr(q, "data after top-level value")
		}
	}
	return false
}

// readMember reads `"name" : value` at p, and returns the offset of the
// ',' or '}' that follows.
func readMember(data []byte, p, depth int) (name, val Value, next int, err error) {
	if p >= len(data) || data[p] != '"' {
		return Value{}, Value{}, 0, syntaxErr(p, "expected member name")
	}
	if name, err = readString(data, p); err != nil {
		return Value{}, Value{}, 0, err
	}
	p = skipWS(data, name.End)
	if p >= len(data) || data[p] != ':' {
		return Value{}, Value{}, 0, syntaxErr(p, "expected ':'")
	}
	p = skipWS(data, p+1)
	if val, err = readValue(data, p, depth+1); err != nil {
		return Value{}, Value{}, 0, err
	}
	p = skipWS(data, val.End)
	if p >= len(data) || (data[p] != ',' && data[p] != '}') {
		return Value{}, Value{}, 0, syntaxErr(p, "expected ',' or '}'")
	}
	return name, val, p, nil
}

// nameSet detects duplicate member names: a short inline list first, a map
// for large objects.
type nameSet struct {
	seen [seenInline]Value
	fp   [seenInline]uint64 // fingerprint of each seen name's text
	// filter has one bit set per seen fingerprint (a one-word Bloom
	// filter): a name whose bit is clear is new without comparing it to
	// any other, which is the common case of a claims set.
	filter uint64
	n      int
	m      map[string]struct{}
}

// fingerprint packs a name's length and first seven bytes, so most
// different names are told apart without comparing their text.
func fingerprint(text []byte) uint64 {
	var w uint64
	if len(text) >= 8 {
		w = binary.LittleEndian.Uint64(text) << 8
	} else {
		for i, c := range text {
			w |= uint64(c) << (8 * (i + 1))
		}
	}
	return w | uint64(len(text)&0xFF)
}

// filterBit is fp's bit in nameSet.filter.
func filterBit(fp uint64) uint64 {
	return 1 << ((fp * 0x9E3779B97F4A7C15) >> 58)
}

// add records name (a String value in data) and reports a duplicate.
func (ns *nameSet) add(data []byte, name Value) error {
	text := nameText(data, name)
	if ns.m != nil {
		k := string(text)
		if _, dup := ns.m[k]; dup {
			return &SyntaxError{Offset: name.Start, Msg: "name " + quoteForError(k), Err: ErrDuplicateName}
		}
		ns.m[k] = struct{}{}
		return nil
	}
	fp := fingerprint(text)
	bit := filterBit(fp)
	if ns.filter&bit != 0 {
		for i, prev := range ns.seen[:ns.n] {
			if ns.fp[i] != fp {
				continue
			}
			if string(nameText(data, prev)) == string(text) {
				return &SyntaxError{Offset: name.Start, Msg: "name " + quoteForError(string(text)), Err: ErrDuplicateName}
			}
		}
	}
	if ns.n < seenInline {
		ns.seen[ns.n] = name
		ns.fp[ns.n] = fp
		ns.filter |= bit
		ns.n++
		return nil
	}
	ns.m = make(map[string]struct{}, 2*seenInline)
	for _, prev := range ns.seen[:ns.n] {
		ns.m[string(nameText(data, prev))] = struct{}{}
	}
	ns.m[string(text)] = struct{}{}
	return nil
}

// nameText is the unescaped text of a String value; it aliases data unless
// the string has escapes.
func nameText(data []byte, v Value) []byte {
	if !v.Escaped {
		s, e := v.Inner()
		return data[s:e]
	}
	return Unquote(data, v, nil)
}

func quoteForError(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Name returns the current member's name in data, unescaped. It aliases
// data unless the name contains escapes.
func (o *Object) Name(data []byte) []byte { return nameText(data, o.name) }

// NameValue returns the current member's name as a located String value.
func (o *Object) NameValue() Value { return o.name }

// Value returns the current member's value.
func (o *Object) Value() Value { return o.val }

// Err returns the first error met, or nil at a clean end of the object.
func (o *Object) Err() error {
	if o.err == nil && !o.done {
		return syntaxErr(o.pos, "object not fully read")
	}
	return o.err
}

// Array iterates over the elements of an array value. Like Object, it
// takes the input on every call rather than holding it.
type Array struct {
	pos    int
	depth  int
	state  readState
	done   bool
	err    error
	val    Value
	endOff int
}

// NewArrayAt returns an iterator over the array value v of data.
func NewArrayAt(data []byte, v Value) Array {
	var a Array
	if v.Kind != ArrayKind || v.Start >= len(data) || data[v.Start] != '[' {
		a.err = syntaxErr(v.Start, "expected an array")
		return a
	}
	a.pos = v.Start + 1
	return a
}

// Next advances to the next element; false at the end or on error.
func (a *Array) Next(data []byte) bool {
	if a.err != nil || a.done {
		return false
	}
	p := skipWS(data, a.pos)
	switch a.state {
	case afterClose:
		a.done, a.endOff = true, p+1
		return false
	case afterOpen:
		if p < len(data) && data[p] == ']' {
			a.done, a.endOff = true, p+1
			return false
		}
	case afterComma:
		if p < len(data) && data[p] == ']' {
			a.err = syntaxErr(p, "trailing comma in array")
			return false
		}
	}
	v, err := readValue(data, p, a.depth+1)
	if err != nil {
		a.err = err
		return false
	}
	a.val = v
	p = skipWS(data, v.End)
	switch {
	case p < len(data) && data[p] == ',':
		a.pos, a.state = p+1, afterComma
	case p < len(data) && data[p] == ']':
		a.pos, a.state = p, afterClose
	default:
		a.err = syntaxErr(p, "expected ',' or ']'")
		return false
	}
	return true
}

// Value returns the current element.
func (a *Array) Value() Value { return a.val }

// Err returns the first error met, or nil at a clean end of the array.
func (a *Array) Err() error {
	if a.err == nil && !a.done {
		return syntaxErr(a.pos, "array not fully read")
	}
	return a.err
}

func skipWS(data []byte, p int) int {
	for p < len(data) {
		switch data[p] {
		case ' ', '\t', '\n', '\r':
			p++
		default:
			return p
		}
	}
	return p
}

// readValue reads and validates the value starting exactly at p.
func readValue(data []byte, p, depth int) (Value, error) {
	if p >= len(data) {
		return Value{}, syntaxErr(p, "unexpected end of input")
	}
	switch c := data[p]; {
	case c == '"':
		return readString(data, p)
	case c == '-' || (c >= '0' && c <= '9'):
		return readNumber(data, p)
	case c == 't':
		return readLiteral(data, p, "true", True)
	case c == 'f':
		return readLiteral(data, p, "false", False)
	case c == 'n':
		return readLiteral(data, p, "null", Null)
	case (c == '{' || c == '[') && depth >= MaxDepth:
		// depth counts from 0 at the top-level value, so this container
		// would be nesting level MaxDepth+1.
		return Value{}, &SyntaxError{Offset: p, Msg: "limit exceeded", Err: ErrTooDeep}
	case c == '{':
		return readObject(data, p, depth)
	case c == '[':
		return readArray(data, p, depth)
	default:
		return Value{}, syntaxErr(p, "unexpected character")
	}
}

// readObject validates the object at p, duplicates included.
func readObject(data []byte, p, depth int) (Value, error) {
	start := p
	p = skipWS(data, p+1)
	if p < len(data) && data[p] == '}' {
		return Value{Kind: ObjectKind, Start: start, End: p + 1}, nil
	}
	var names nameSet
	for {
		name, _, next, err := readMember(data, p, depth)
		if err != nil {
			return Value{}, err
		}
		if err := names.add(data, name); err != nil {
			return Value{}, err
		}
		if data[next] == '}' {
			return Value{Kind: ObjectKind, Start: start, End: next + 1}, nil
		}
		p = skipWS(data, next+1)
	}
}

// readArray validates the array at p.
func readArray(data []byte, p, depth int) (Value, error) {
	start := p
	p = skipWS(data, p+1)
	if p < len(data) && data[p] == ']' {
		return Value{Kind: ArrayKind, Start: start, End: p + 1}, nil
	}
	for {
		v, err := readValue(data, p, depth+1)
		if err != nil {
			return Value{}, err
		}
		p = skipWS(data, v.End)
		switch {
		case p < len(data) && data[p] == ']':
			return Value{Kind: ArrayKind, Start: start, End: p + 1}, nil
		case p < len(data) && data[p] == ',':
			p = skipWS(data, p+1)
		default:
			return Value{}, syntaxErr(p, "expected ',' or ']'")
		}
	}
}

func readLiteral(data []byte, p int, lit string, k Kind) (Value, error) {
	if len(data)-p < len(lit) || string(data[p:p+len(lit)]) != lit {
		return Value{}, syntaxErr(p, "invalid literal")
	}
	return Value{Kind: k, Start: p, End: p + len(lit)}, nil
}

func readNumber(data []byte, p int) (Value, error) {
	start := p
	if data[p] == '-' {
		p++
	}
	switch {
	case p < len(data) && data[p] == '0':
		p++
	case p < len(data) && data[p] >= '1' && data[p] <= '9':
		for p < len(data) && isDigit(data[p]) {
			p++
		}
	default:
		return Value{}, syntaxErr(p, "invalid number")
	}
	if p < len(data) && data[p] == '.' {
		p++
		if p >= len(data) || !isDigit(data[p]) {
			return Value{}, syntaxErr(p, "invalid number fraction")
		}
		for p < len(data) && isDigit(data[p]) {
			p++
		}
	}
	if p < len(data) && (data[p] == 'e' || data[p] == 'E') {
		p++
		if p < len(data) && (data[p] == '+' || data[p] == '-') {
			p++
		}
		if p >= len(data) || !isDigit(data[p]) {
			return Value{}, syntaxErr(p, "invalid number exponent")
		}
		for p < len(data) && isDigit(data[p]) {
			p++
		}
	}
	return Value{Kind: Number, Start: start, End: p}, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// plain marks the bytes a string may hold without further checks:
// printable ASCII other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101 // the low bit of every byte
	msb = 0x8080808080808080 // the high bit of every byte
)

// PlainEnd returns the offset of the first byte at or after p that may
// not appear in a string as is, or that needs a closer look: a quote, a
// backslash, a control character or a non-ASCII byte. It returns
// len(data) if there is none. It looks at eight bytes at a time: a word of
// printable ASCII without quote or backslash is skipped whole.
func PlainEnd(data []byte, p int) int {
	for p+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[p:])
		// The high bit of a byte of special is set where the byte is
		// below 0x20, a quote or a backslash (the zero-byte test on w,
		// w^'"' and w^'\\'), or non-ASCII. A borrow only carries upwards
		// from a byte that matched, so the lowest flag is a true match;
		// flags above it may not be, and are never looked at.
		q, bs := w^('"'*lsb), w^('\\'*lsb)
		special := ((w-0x20*lsb)&^w | (q-lsb)&^q | (bs-lsb)&^bs | w) & msb
		if special != 0 {
			return p + bits.TrailingZeros64(special)/8
		}
		p += 8
	}
	for p < len(data) && plain[data[p]] {
		p++
	}
	return p
}

// readString validates the string starting with the quote at p.
func readString(data []byte, p int) (Value, error) {
	start := p
	p++
	escaped := false
	for {
		p = PlainEnd(data, p)
		if p >= len(data) {
			return Value{}, syntaxErr(start, "unterminated string")
		}
		switch c := data[p]; {
		case c == '"':
			return Value{Kind: String, Start: start, End: p + 1, Escaped: escaped}, nil
		case c == '\\':
			escaped = true
			n, err := escapeLen(data, p)
			if err != nil {
				return Value{}, err
			}
			p += n
		case c < 0x20:
			return Value{}, syntaxErr(p, "control character in string")
		default:
			r, size := utf8.DecodeRune(data[p:])
			if r == utf8.RuneError && size == 1 {
				return Value{}, syntaxErr(p, "invalid UTF-8 in string")
			}
			p += size
		}
	}
}

// escapeLen validates the escape sequence at p and returns its length,
// including a following low surrogate escape when the first is high.
func escapeLen(data []byte, p int) (int, error) {
	if p+1 >= len(data) {
		return 0, syntaxErr(p, "unterminated escape")
	}
	switch data[p+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r, ok := hex4(data, p+2)
		if !ok {
			return 0, syntaxErr(p, "invalid \\u escape")
		}
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if p+7 >= len(data) || data[p+6] != '\\' || data[p+7] != 'u' {
				return 0, syntaxErr(p, "unpaired surrogate")
			}
			r2, ok := hex4(data, p+8)
			if !ok || r2 < 0xDC00 || r2 >= 0xE000 {
				return 0, syntaxErr(p, "unpaired surrogate")
			}
			return 12, nil
		case r >= 0xDC00 && r < 0xE000:
			return 0, syntaxErr(p, "unpaired surrogate")
		}
		return 6, nil
	default:
		return 0, syntaxErr(p, "invalid escape")
	}
}

func hex4(data []byte, p int) (rune, bool) {
	if p+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[p : p+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendUnescaped decodes already-validated string content s onto dst.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(s, i+2)
			if r >= 0xD800 && r < 0xDC00 {
				r2, _ := hex4(s, i+8)
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		}
		i += 2
	}
	return dst
}

// AppendQuoted appends s to dst as a JSON string. Invalid UTF-8 is refused
// rather than replaced, so what is written reads back byte for byte.
func AppendQuoted(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return dst, syntaxErr(0, "invalid UTF-8 in string")
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}
