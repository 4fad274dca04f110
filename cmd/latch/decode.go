package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
)

const decodeDetail = `decode prints the header and payload of a compact JWS or JWT as
{"header": {...}, "payload": {...}} WITHOUT checking the signature: nothing
it prints can be trusted. It exits 1 unless the token is three base64url
segments whose first two are JSON objects, and refuses a token over 16 KiB
(what verifiers accept by default) unless --max-token-size raises the
limit. Risky content is reported on
standard error, one "latch: warning: ..." line each, with exit status 0:
  - alg "none" in any letter case, an algorithm latch does not support, or
    no alg at all;
  - "jwk", "jku", "x5u" or "x5c" header members: keys a token brings or
    points to must never be trusted;
  - no exp, an exp in the past, or a lifetime over 24h (exp - iat, or
    exp - now when there is no iat);
  - a token over 1 KiB (oversized for headers and cookies);
  - claim names, at any depth, that look like secrets, since anyone holding
    the token can read the payload: names containing password, passwd,
    secret, creditcard, cardnumber, apikey or privatekey, or ending in
    token, ssn, cvv or cvc, or equal to pwd or pin (case, '_' and '-'
    ignored). Personal data such as email or phone_number is not flagged:
    it is ordinary in ID tokens;
  - duplicate member names, which strict verifiers reject.

The output's "size" says where the token's bytes go: the base64url length
of the header, payload and signature (and the bytes they decode to), and
the bytes each top-level claim takes in the payload's JSON, largest first
(the token, in base64url, needs a third more). --size prints that report
as text instead. Browsers drop cookies over 4096 bytes.`

// Warning thresholds of "token decode".
const (
	oversizedToken = 1 << 10
	longLifetime   = 24 * time.Hour
	maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z
)

func tokenDecode(c *command, fs *flag.FlagSet) func(*env, []string) error {
	sizeFlag := addTokenSizeFlag(fs)
	sizeOnly := fs.Bool("size", false, "print the size of each part and claim as text, not the header and payload")
	return func(e *env, args []string) error {
		arg, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		maxSize, err := sizeFlag.value(c)
		if err != nil {
			return err
		}
		tok, err := e.readToken(arg, maxSize)
		if err != nil {
			return err
		}
		d, err := decodeToken(tok)
		if err != nil {
			return err
		}
		d.size = measure(tok, &d)
		if *sizeOnly {
			err = d.size.writeText(e.stdout)
		} else {
			err = d.write(e)
		}
		if err != nil {
			return err
		}
		for _, w := range d.warnings(e.now()) {
			warn(e.stderr, "%s", w)
		}
		return nil
	}
}

// decodedToken is an unverified token split into its parts.
type decodedToken struct {
	size            tokenSize // see measure
	header, payload json.RawMessage
	dupHeader       bool // a member name repeats in the header
	dupPayload      bool
}

// decodeToken splits and decodes tok without verifying it.
func decodeToken(tok string) (decodedToken, error) {
	parts := strings.Split(tok, ".")
	switch len(parts) {
	case 3:
	case 5:
		return decodedToken{}, encryptedTokenError(parts[0])
	default:
		return decodedToken{}, fmt.Errorf("not a compact JWS or JWT: %d segments, want 3", len(parts))
	}
	d := decodedToken{size: tokenSize{Token: len(tok)}}
	var err error
	if d.header, d.dupHeader, err = decodeObject(parts[0], "header"); err != nil {
		return decodedToken{}, err
	}
	if d.payload, d.dupPayload, err = decodeObject(parts[1], "payload"); err != nil {
		return decodedToken{}, err
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(parts[2]); err != nil {
		return decodedToken{}, errors.New("signature is not unpadded base64url")
	}
	return d, nil
}

// decodeObject decodes one base64url segment holding a JSON object. A
// duplicate member name is reported, not refused, so that such a token
// can be inspected.
func decodeObject(seg, part string) (obj json.RawMessage, dup bool, err error) {
	data, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil || strings.ContainsAny(seg, "\r\n") {
		return nil, false, fmt.Errorf("%s is not unpadded base64url", part)
	}
	err = strictjson.Validate(data)
	dup = errors.Is(err, strictjson.ErrDuplicateName)
	switch {
	case dup && !json.Valid(data):
		return nil, false, fmt.Errorf("%s is not JSON", part)
	case err != nil && !dup:
		return nil, false, fmt.Errorf("%s is not JSON: %v", part, errorText(err))
	}
	if t := bytes.TrimSpace(data); t[0] != '{' {
		return nil, false, fmt.Errorf("%s is not a JSON object (for other payloads use 'latch jws verify')", part)
	}
	return data, dup, nil
}

// write prints the header and payload as one indented JSON object.
func (d *decodedToken) write(e *env) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Header  json.RawMessage `json:"header"`
		Payload json.RawMessage `json:"payload"`
		Size    tokenSize       `json:"size"`
	}{d.header, d.payload, d.size})
}

// warnings lists the risky content of d, checked at now.
func (d *decodedToken) warnings(now time.Time) []string {
	var ws []string
	var header, payload map[string]json.RawMessage
	// Both are JSON objects (checked by decodeObject).
	json.Unmarshal(d.header, &header)
	json.Unmarshal(d.payload, &payload)
	ws = append(ws, algWarnings(header)...)
	for _, name := range []string{"jwk", "jku", "x5u", "x5c"} {
		if _, ok := header[name]; ok {
			ws = append(ws, fmt.Sprintf("header member %q brings or points to a key: never trust keys named by the token", name))
		}
	}
	if d.dupHeader {
		ws = append(ws, "a member name repeats in the header: strict verifiers reject the token")
	}
	if d.size.Token > oversizedToken {
		ws = append(ws, fmt.Sprintf("token is %d bytes, over 1 KiB: oversized for headers and cookies", d.size.Token))
	}
	if d.dupPayload {
		ws = append(ws, "a member name repeats in the payload: strict verifiers reject the token")
	}
	ws = append(ws, lifetimeWarnings(payload, now)...)
	for _, name := range sensitiveClaims(d.payload) {
		ws = append(ws, fmt.Sprintf("claim %q looks sensitive: anyone holding the token can read the payload", name))
	}
	return ws
}

func algWarnings(header map[string]json.RawMessage) []string {
	raw, ok := header["alg"]
	if !ok {
		return []string{"header has no alg"}
	}
	var alg string
	if json.Unmarshal(raw, &alg) != nil {
		return []string{"header alg is not a string"}
	}
	switch _, err := jose.ParseAlgorithm(alg); {
	case strings.EqualFold(alg, "none"):
		return []string{fmt.Sprintf("alg %q: the token is unsigned and must never be accepted", truncate(alg, 32))}
	case err != nil:
		return []string{fmt.Sprintf("alg %q is not supported by latch", truncate(alg, 32))}
	}
	return nil
}

func lifetimeWarnings(payload map[string]json.RawMessage, now time.Time) []string {
	exp, ok, err := numericDate(payload, "exp")
	switch {
	case err != nil:
		return []string{err.Error()}
	case !ok:
		return []string{"no exp claim: the token never expires"}
	}
	var ws []string
	if !now.Before(exp) {
		ws = append(ws, fmt.Sprintf("token expired at %s", exp.UTC().Format(time.RFC3339)))
	}
	iat, ok, err := numericDate(payload, "iat")
	switch {
	case err != nil:
		ws = append(ws, err.Error())
	case ok && exp.Sub(iat) > longLifetime:
		ws = append(ws, fmt.Sprintf("lifetime is %s (exp - iat), over 24h", exp.Sub(iat)))
	case !ok && exp.Sub(now) > longLifetime:
		ws = append(ws, fmt.Sprintf("token expires in %s, over 24h", exp.Sub(now).Round(time.Second)))
	}
	return ws
}

// numericDate reads the claim name as seconds since 1970; ok is false
// when it is absent.
func numericDate(payload map[string]json.RawMessage, name string) (t time.Time, ok bool, err error) {
	raw, ok := payload[name]
	if !ok {
		return time.Time{}, false, nil
	}
	var sec float64
	if raw[0] == '"' || json.Unmarshal(raw, &sec) != nil {
		return time.Time{}, false, fmt.Errorf("claim %s is not a number", name)
	}
	if sec < 0 || sec > maxNumericDate {
		return time.Time{}, false, fmt.Errorf("claim %s is outside 1970..9999", name)
	}
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9)), true, nil
}

// sensitiveClaims returns the paths ("user.password") of the member
// names in payload that look like secrets, sorted.
func sensitiveClaims(payload []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var found []string
	walkNames(v, "", func(path, name string) {
		if looksSensitive(name) {
			found = append(found, path)
		}
	})
	slices.Sort(found)
	return slices.Compact(found)
}

// walkNames calls fn with the path and name of every object member in v.
func walkNames(v any, prefix string, fn func(path, name string)) {
	switch v := v.(type) {
	case map[string]any:
		for name, child := range v {
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			fn(path, name)
			walkNames(child, path, fn)
		}
	case []any:
		for _, child := range v {
			walkNames(child, prefix, fn)
		}
	}
}

// looksSensitive reports whether a claim name suggests a secret: see
// decodeDetail for the rules.
func looksSensitive(name string) bool {
	n := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(name))
	for _, part := range []string{"password", "passwd", "secret", "creditcard", "cardnumber", "apikey", "privatekey"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	for _, suffix := range []string{"token", "ssn", "cvv", "cvc"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return n == "pwd" || n == "pin"
}

// encryptedTokenError says that a token of five segments is an encrypted
// JWE, naming what its protected header (public) says, and how to read it.
func encryptedTokenError(headerSeg string) error {
	const how = "its claims can be read only with the recipient's private key: 'latch jwe decrypt --key FILE', or 'latch token verify --decrypt-key FILE ...'"
	var h struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
		Cty string `json:"cty"`
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(headerSeg)
	if err != nil || json.Unmarshal(data, &h) != nil || h.Alg == "" || h.Enc == "" {
		return errors.New("token has 5 segments (an encrypted JWE): " + how)
	}
	what := "an encrypted JWE"
	if strings.EqualFold(strings.TrimPrefix(strings.ToLower(h.Cty), "application/"), "jwt") {
		what = "an encrypted JWE holding a signed JWT (a nested JWT)"
	}
	return fmt.Errorf("token is %s, alg %s, enc %s: %s", what, safeText(truncate(h.Alg, 32)), safeText(truncate(h.Enc, 32)), how)
}
