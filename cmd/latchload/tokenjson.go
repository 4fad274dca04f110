package main

import "encoding/json"

// decodeTokenResponse returns what json.Unmarshal of b into a zero
// tokenResponse sets, or the error it returns (with a zero
// tokenResponse).
//
// A token response is parsed on every measured request, and
// encoding/json, with its reflection and its validation pass before the
// decoding one, spent some 15% of latchload's CPU on it. Most of that is
// skipping what latchload does not look at, such as the access token's
// claims inside a JWT that needs no decoding: scanTokenResponse does it
// in one pass. Whatever it is not certain of, it leaves to json.Unmarshal,
// so the two never differ.
func decodeTokenResponse(b []byte) (tokenResponse, error) {
	if tr, ok := scanTokenResponse(b); ok {
		return tr, nil
	}
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		return tokenResponse{}, err
	}
	return tr, nil
}

// scanTokenResponse reads b as a JSON object (RFC 8259) and returns its
// access_token, token_type and refresh_token members, validating and
// skipping all others, whatever their values. It reports false, for
// json.Unmarshal to decide, for anything it is not certain it reads as
// json.Unmarshal would:
//
//   - a document that is not a well-formed JSON object, or nests more
//     than maxScanDepth deep;
//   - a member name with an escape or a non-ASCII byte, or that
//     json.Unmarshal could match to one of the three names other than
//     exactly (it matches case-insensitively);
//   - one of the three members with a value that is not a string, or a
//     string with an escape or a non-ASCII byte.
//
// A member that appears twice takes its last value, as with
// json.Unmarshal.
func scanTokenResponse(b []byte) (tokenResponse, bool) {
	var tr tokenResponse
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return tokenResponse{}, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i == len(b) || b[i] != '"' {
				return tokenResponse{}, false
			}
			end, plain := scanString(b, i)
			if end < 0 || !plain {
				return tokenResponse{}, false
			}
			name := b[i+1 : end-1]
			i = skipSpace(b, end)
			if i == len(b) || b[i] != ':' {
				return tokenResponse{}, false
			}
			i = skipSpace(b, i+1)
			field, ok := tr.field(name)
			if !ok {
				return tokenResponse{}, false
			}
			if field != nil {
				if i == len(b) || b[i] != '"' {
					return tokenResponse{}, false
				}
				end, plain := scanString(b, i)
				if end < 0 || !plain {
					return tokenResponse{}, false
				}
				*field = string(b[i+1 : end-1])
				i = end
			} else if i = skipValue(b, i, 1); i < 0 {
				return tokenResponse{}, false
			}
			i = skipSpace(b, i)
			if i == len(b) {
				return tokenResponse{}, false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return tokenResponse{}, false
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return tokenResponse{}, false
	}
	return tr, true
}

// field returns the field of tr that the member name (ASCII, unescaped)
// sets: nil for none. It reports false for a name that json.Unmarshal
// might match to a field other than exactly: one equal to a field's name
// but for case, '_' or '-'.
func (tr *tokenResponse) field(name []byte) (*string, bool) {
	switch string(name) { // no allocation: compared in place
	case "access_token":
		return &tr.AccessToken, true
	case "token_type":
		return &tr.TokenType, true
	case "refresh_token":
		return &tr.RefreshToken, true
	}
	var folded [len("refreshtoken")]byte
	n := 0
	for _, c := range name {
		switch {
		case c == '_' || c == '-':
			continue
		case n == len(folded):
			return nil, true // longer than any name folded
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		folded[n] = c
		n++
	}
	switch string(folded[:n]) {
	case "accesstoken", "tokentype", "refreshtoken":
		return nil, false
	}
	return nil, true
}

// maxScanDepth bounds the nesting of arrays and objects scanTokenResponse
// reads (the top-level object is 1); deeper is left to json.Unmarshal.
const maxScanDepth = 64

// skipValue returns the index just past the JSON value that starts at
// b[i] (after any white space), or -1 if there is none, it is not
// well-formed, or it nests deeper than maxScanDepth (the value's
// enclosing object or array is at depth).
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := scanString(b, i)
		return end
	case c == '{':
		if depth >= maxScanDepth {
			return -1
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i == len(b) || b[i] != '"' {
				return -1
			}
			if i, _ = scanString(b, i); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			if i == len(b) || b[i] != ':' {
				return -1
			}
			if i = skipValue(b, skipSpace(b, i+1), depth+1); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			switch {
			case i == len(b):
				return -1
			case b[i] == '}':
				return i + 1
			case b[i] != ',':
				return -1
			}
			i = skipSpace(b, i+1)
		}
	case c == '[':
		if depth >= maxScanDepth {
			return -1
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			switch {
			case i == len(b):
				return -1
			case b[i] == ']':
				return i + 1
			case b[i] != ',':
				return -1
			}
			i = skipSpace(b, i+1)
		}
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return skipNumber(b, i)
	}
	return -1
}

// skipLiteral returns the index just past lit at b[i], or -1.
func skipLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// skipNumber returns the index just past the JSON number at b[i]
// (RFC 8259 §6), or -1.
func skipNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = skipDigits(b, i+1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = skipDigits(b, i); i < 0 {
			return -1
		}
	}
	return i
}

// skipDigits returns the index just past the one or more digits at b[i],
// or -1 if there is none.
func skipDigits(b []byte, i int) int {
	j := i
	for j < len(b) && '0' <= b[j] && b[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// scanString returns the index just past the JSON string whose opening
// quote is b[i], or -1 if it is not well-formed (RFC 8259 §7: a control
// character, an unknown escape, no closing quote). plain reports whether
// it has neither an escape nor a non-ASCII byte: its contents are then
// b[i+1:end-1] exactly as json.Unmarshal decodes them.
func scanString(b []byte, i int) (end int, plain bool) {
	plain = true
	for j := i + 1; ; {
		for j < len(b) && !stringSpecial[b[j]] {
			j++
		}
		if j == len(b) {
			return -1, false
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, plain
		case c == '\\':
			plain = false
			if j+1 == len(b) {
				return -1, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(b)-j < 6 || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return -1, false
				}
				j += 6
			default:
				return -1, false
			}
		case c < ' ':
			return -1, false
		default: // not ASCII: json.Unmarshal replaces invalid UTF-8
			plain = false
			j++
		}
	}
}

// stringSpecial marks the bytes scanString stops at inside a string: the
// closing quote, an escape, a control character or a non-ASCII byte.
var stringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c < ' ' || c == '"' || c == '\\' || c >= 0x80
	}
	return t
}()

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// skipSpace returns the index of the first byte at or after b[i] that is
// not JSON white space (RFC 8259 §2), or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
