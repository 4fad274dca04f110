//go:build ignore

// Command craft writes the negative vectors of this directory. It uses only
// the standard library and no randomness, so running it again reproduces
// the checked-in files:
//
//	cd jose/testdata/attacks && go run craft.go .
package main

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

var b64 = base64.RawURLEncoding

type vector struct {
	Name   string   `json:"name"`
	Header string   `json:"header"`
	Token  string   `json:"token"`
	Keys   []string `json:"keys"`
	MAC    string   `json:"mac"`
	Want   []string `json:"want"`
}

type family struct {
	Description string   `json:"description"`
	Vectors     []vector `json:"vectors"`
}

var secrets = map[string][]byte{}

func mustB64(s string) []byte {
	b, err := b64.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func init() {
	secrets["rfc7515-a1"] = mustB64("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
	n := new(big.Int).SetBytes(mustB64("ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"))
	pub := &rsa.PublicKey{N: n, E: 65537}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	secrets["rfc7515-a2-pkix-pem"] = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	secrets["rfc7515-a2-modulus"] = n.Bytes()
	point := append([]byte{4}, mustB64("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")...)
	point = append(point, mustB64("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")...)
	secrets["rfc7515-a3-point"] = point
	secrets["empty"] = []byte{}
}

func mac(name, input string) string {
	m := hmac.New(sha256.New, secrets[name])
	m.Write([]byte(input))
	return b64.EncodeToString(m.Sum(nil))
}

const claims = `{"sub":"admin","exp":4102444800}`

// signed returns header.payload.HMAC(secret) with the given raw segments.
func signed(hseg, pseg, secret string) string {
	in := hseg + "." + pseg
	return in + "." + mac(secret, in)
}

func enc(s string) string { return b64.EncodeToString([]byte(s)) }

func v(name, header, token string, keys []string, macName string, want ...string) vector {
	return vector{Name: name, Header: header, Token: token, Keys: keys, MAC: macName, Want: want}
}

var (
	a1 = []string{"rfc7515-a1"}
	a2 = []string{"rfc7515-a2"}
	a3 = []string{"rfc7515-a3"}
)

func hs(name, header string, want ...string) vector {
	return v(name, header, signed(enc(header), enc(claims), "rfc7515-a1"), a1, "rfc7515-a1", want...)
}

func main() {
	fams := map[string]family{}

	var none []vector
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := `{"alg":"` + alg + `"}`
		none = append(none, v(fmt.Sprintf("alg %s, empty signature", alg), h, enc(h)+"."+enc(claims)+".", a1, "", "ErrUnsupportedAlgorithm"))
		none = append(none, v(fmt.Sprintf("alg %s, HMAC signature", alg), h, signed(enc(h), enc(claims), "rfc7515-a1"), a1, "rfc7515-a1", "ErrUnsupportedAlgorithm"))
	}
	h := `{"alg":"none"}`
	h = `{"alg":"none","kid":"rfc7515-a1"}`
	none = append(none, v("alg none with a trusted kid, HMAC signature", h, signed(enc(h), enc(claims), "rfc7515-a1"), a1, "rfc7515-a1", "ErrUnsupportedAlgorithm"))
	h = `{"alg":"\u006eone"}`
	none = append(none, v("alg none spelled with an escape", h, enc(h)+"."+enc(claims)+".", a1, "", "ErrUnsupportedAlgorithm"))
	none = append(none, hs("alg HS1", `{"alg":"HS1"}`, "ErrUnsupportedAlgorithm"))
	none = append(none, hs("alg ES256K", `{"alg":"ES256K","kid":"rfc7515-a1"}`, "ErrUnsupportedAlgorithm"))
	none = append(none, hs("alg hs256 in lower case", `{"alg":"hs256"}`, "ErrUnsupportedAlgorithm"))
	none = append(none, hs("alg empty", `{"alg":""}`, "ErrUnsupportedAlgorithm"))
	fams["alg-none-and-unknown.json"] = family{
		Description: "Unsecured JWS (alg none in any letter case, RFC 7515 A.5) and algorithms latch does not implement. The key set trusts the RFC 7515 A.1 HMAC key; where mac is set the signature is a valid HMAC under that key, so only the algorithm can cause the rejection.",
		Vectors:     none,
	}

	var conf []vector
	for _, c := range []struct{ secret, what string }{
		{"rfc7515-a2-pkix-pem", "PKIX PEM of the RSA public key"},
		{"rfc7515-a2-modulus", "raw RSA modulus"},
	} {
		h := `{"alg":"HS256","kid":"rfc7515-a2"}`
		conf = append(conf, v("RS256 key, HS256 header with its kid, HMAC keyed with the "+c.what, h, signed(enc(h), enc(claims), c.secret), a2, c.secret, "ErrAlgorithmMismatch"))
		h = `{"alg":"HS256"}`
		conf = append(conf, v("RS256 key, HS256 header without kid, HMAC keyed with the "+c.what, h, signed(enc(h), enc(claims), c.secret), a2, c.secret, "ErrAlgorithmMismatch"))
	}
	h = `{"alg":"HS256","kid":"rfc7515-a3"}`
	conf = append(conf, v("ES256 key, HS256 header with its kid, HMAC keyed with the uncompressed public point", h, signed(enc(h), enc(claims), "rfc7515-a3-point"), a3, "rfc7515-a3-point", "ErrAlgorithmMismatch"))
	h = `{"alg":"RS256","kid":"rfc7515-a3"}`
	conf = append(conf, v("ES256 key, RS256 header with its kid", h, signed(enc(h), enc(claims), "rfc7515-a3-point"), a3, "rfc7515-a3-point", "ErrAlgorithmMismatch"))
	fams["algorithm-confusion.json"] = family{
		Description: "Key confusion (CVE-2015-9235 and kin): the attacker takes a trusted public key, uses its bytes as an HMAC secret and sets alg HS256. The key sets hold only the RFC 7515 A.2 RSA or A.3 EC public key, each pinned to its own algorithm.",
		Vectors:     conf,
	}

	var crit []vector
	crit = append(crit, hs("crit exp", `{"alg":"HS256","crit":["exp"],"exp":1300819380}`, "ErrCritical"))
	crit = append(crit, hs("crit b64 with b64 false, encoded payload", `{"alg":"HS256","b64":false,"crit":["b64"]}`, "ErrCritical"))
	crit = append(crit, hs("b64 false without crit", `{"alg":"HS256","b64":false}`, "ErrCritical"))
	crit = append(crit, hs("b64 as a string", `{"alg":"HS256","b64":"false"}`, "ErrCritical"))
	crit = append(crit, hs("crit empty", `{"alg":"HS256","crit":[]}`, "ErrCritical"))
	crit = append(crit, hs("crit unknown extension", `{"alg":"HS256","crit":["http://example.com/ext"],"http://example.com/ext":true}`, "ErrCritical"))
	h = `{"alg":"HS256","b64":false,"crit":["b64"]}`
	crit = append(crit, v("RFC 7797 4.2 detached unencoded payload", h,
		"eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY", a1, "", "ErrCritical"))
	fams["critical.json"] = family{
		Description: "Critical header parameters (RFC 7515 4.1.11) and the unencoded payload option (RFC 7797), which latch does not implement. Signatures are valid HMACs under the RFC 7515 A.1 key (RFC 7797 uses that key too).",
		Vectors:     crit,
	}

	var dup []vector
	dup = append(dup, hs("duplicate alg", `{"alg":"HS256","alg":"HS256"}`, "ErrMalformed", "ErrDuplicateMember"))
	dup = append(dup, hs("duplicate alg, second none", `{"alg":"HS256","alg":"none"}`, "ErrMalformed", "ErrDuplicateMember"))
	dup = append(dup, hs("duplicate alg via escape", `{"alg":"HS256","\u0061lg":"HS256"}`, "ErrMalformed", "ErrDuplicateMember"))
	dup = append(dup, hs("duplicate kid", `{"alg":"HS256","kid":"rfc7515-a1","kid":"other"}`, "ErrMalformed", "ErrDuplicateMember"))
	dup = append(dup, hs("duplicate in a nested unknown member", `{"alg":"HS256","x":{"a":1,"a":2}}`, "ErrMalformed", "ErrDuplicateMember"))
	dup = append(dup, hs("header is an array", `["alg","HS256"]`, "ErrMalformed"))
	dup = append(dup, hs("header is a string", `"HS256"`, "ErrMalformed"))
	dup = append(dup, hs("header is a number", `256`, "ErrMalformed"))
	dup = append(dup, hs("header is null", `null`, "ErrMalformed"))
	dup = append(dup, hs("header is empty JSON object", `{}`, "ErrMalformed"))
	dup = append(dup, hs("header with trailing object", `{"alg":"HS256"}{"alg":"none"}`, "ErrMalformed"))
	dup = append(dup, hs("header with trailing comma", `{"alg":"HS256",}`, "ErrMalformed"))
	dup = append(dup, hs("header alg is not a string", `{"alg":["HS256"]}`, "ErrMalformed"))
	dup = append(dup, hs("header kid is not a string", `{"alg":"HS256","kid":1}`, "ErrMalformed"))
	dup = append(dup, hs("header typ is not a string", `{"alg":"HS256","typ":null}`, "ErrMalformed"))
	dup = append(dup, hs("header with lone surrogate", `{"alg":"HS256","x":"\ud800"}`, "ErrMalformed"))
	dup = append(dup, v("header with invalid UTF-8 (0xff in a string)", "", signed(enc("{\"alg\":\"HS256\",\"x\":\"\xff\"}"), enc(claims), "rfc7515-a1"), a1, "rfc7515-a1", "ErrMalformed"))
	fams["header-json.json"] = family{
		Description: "Protected headers that are not one unambiguous JSON object: duplicate members (also via escapes), other JSON types, wrong member types, invalid text. Signatures are valid HMACs under the RFC 7515 A.1 key.",
		Vectors:     dup,
	}

	// Non-canonical base64url. Every signature is the HMAC of the signing
	// input exactly as it appears in the token.
	var nc []vector
	h = `{"alg":"HS256","kid":"rfc7515-a1"}` // 34 bytes: needs "==" padding
	hseg := enc(h)
	pseg := enc(claims)
	raw := func(hs, ps string) string { return signed(hs, ps, "rfc7515-a1") }
	nc = append(nc, v("header padded with '='", h, raw(hseg+"==", pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	p16 := `{"sub":"admin!"}` // 16 bytes
	nc = append(nc, v("payload padded with '='", h, raw(hseg, enc(p16)+"=="), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	good := raw(hseg, pseg)
	nc = append(nc, v("signature padded with '='", h, good+"=", a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	// standard alphabet in the signature: find a payload whose MAC has '-' or '_'
	for i := 0; ; i++ {
		p := fmt.Sprintf(`{"sub":"admin","n":%d}`, i)
		t := raw(hseg, enc(p))
		sig := t[strings.LastIndexByte(t, '.')+1:]
		if strings.ContainsAny(sig, "-_") {
			std := strings.NewReplacer("-", "+", "_", "/").Replace(sig)
			nc = append(nc, v("signature in the standard alphabet ('+', '/')", h, t[:strings.LastIndexByte(t, '.')+1]+std, a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
			break
		}
	}
	pstd := base64.RawStdEncoding.EncodeToString([]byte("\xfb\xff\xbf{\"sub\":\"admin\"}"))
	nc = append(nc, v("payload in the standard alphabet ('+', '/')", h, raw(hseg, pstd), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	for _, typ := range []string{"?>?", "JWT?", "??", "~~~", "JWT>", "a?b"} {
		hh := `{"alg":"HS256","typ":"` + typ + `"}`
		std := base64.RawStdEncoding.EncodeToString([]byte(hh))
		if strings.ContainsAny(std, "+/") {
			nc = append(nc, v("header in the standard alphabet ('+', '/')", hh, raw(std, pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
			break
		}
	}
	nc = append(nc, v("space inside the header", h, raw(hseg[:10]+" "+hseg[10:], pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("tab inside the payload", h, raw(hseg, pseg[:8]+"\t"+pseg[8:]), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("CR LF inside the header", h, raw(hseg[:12]+"\r\n"+hseg[12:], pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("LF inside the payload", h, raw(hseg, pseg[:20]+"\n"+pseg[20:]), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("CR LF inside the signature", h, good[:len(good)-20]+"\r\n"+good[len(good)-20:], a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("LF after the signature", h, good+"\n", a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("CR LF after the header", h, raw(hseg+"\r\n", pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("space after the signature", h, good+" ", a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	bump := func(s string) string { // set a trailing bit in the last character
		const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		i := strings.IndexByte(alpha, s[len(s)-1])
		return s[:len(s)-1] + string(alpha[i+1])
	}
	nc = append(nc, v("non-zero trailing bits in the header", h, raw(bump(hseg), pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("non-zero trailing bits in the payload", h, raw(hseg, bump(enc(p16))), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("non-zero trailing bits in the signature", h, bump(good), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("header of impossible length (4n+1)", "", raw(hseg+"AAA", pseg), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	nc = append(nc, v("percent-encoded character in the payload", h, raw(hseg, pseg[:4]+"%3D"+pseg[4:]), a1, "rfc7515-a1", "ErrMalformed", "ErrNonCanonical"))
	fams["non-canonical-base64.json"] = family{
		Description: "Segments that a lenient base64 decoder would accept: padding, the standard alphabet, white space and line breaks, non-zero trailing bits. Each signature is the HMAC, under the RFC 7515 A.1 key, of the signing input exactly as it appears in the token, so a verifier that decodes leniently would accept the token; latch must not.",
		Vectors:     nc,
	}

	var seg []vector
	h = `{"alg":"HS256"}`
	hseg = enc(h)
	good = raw(hseg, pseg)
	seg = append(seg, v("two segments", h, hseg+"."+pseg, a1, "", "ErrMalformed"))
	seg = append(seg, v("one segment", h, hseg, a1, "", "ErrMalformed"))
	seg = append(seg, v("four segments", h, good+"."+mac("rfc7515-a1", good), a1, "", "ErrMalformed"))
	seg = append(seg, v("five segments (JWE shape)", `{"alg":"dir","enc":"A128GCM"}`, enc(`{"alg":"dir","enc":"A128GCM"}`)+"..AAAAAAAAAAAAAAAA."+pseg+".AAAAAAAAAAAAAAAAAAAAAA", a1, "", "ErrMalformed"))
	seg = append(seg, v("empty header", "", raw("", pseg), a1, "rfc7515-a1", "ErrMalformed"))
	seg = append(seg, v("empty token", "", "", a1, "", "ErrMalformed"))
	seg = append(seg, v("only dots", "", "..", a1, "", "ErrMalformed"))
	seg = append(seg, v("signature stripped", h, hseg+"."+pseg+".", a1, "", "ErrSignature"))
	hk := `{"alg":"HS256","kid":"rfc7515-a1"}`
	seg = append(seg, v("signature stripped, trusted kid", hk, enc(hk)+"."+pseg+".", a1, "", "ErrSignature"))
	full, _ := b64.DecodeString(good[strings.LastIndexByte(good, '.')+1:])
	seg = append(seg, v("signature truncated by one byte", h, hseg+"."+pseg+"."+b64.EncodeToString(full[:31]), a1, "", "ErrSignature"))
	seg = append(seg, v("signature extended by one byte", h, good[:strings.LastIndexByte(good, '.')+1]+b64.EncodeToString(append(full, 0)), a1, "", "ErrSignature"))
	seg = append(seg, v("signature of zeros", h, hseg+"."+pseg+"."+b64.EncodeToString(make([]byte, 32)), a1, "", "ErrSignature"))
	seg = append(seg, v("JSON serialization", "", `{"payload":"`+pseg+`","protected":"`+hseg+`","signature":"`+good[strings.LastIndexByte(good, '.')+1:]+`"}`, a1, "", "ErrMalformed"))
	fams["segments.json"] = family{
		Description: "Tokens that are not exactly three segments, with an empty header, or with the signature stripped or replaced. The key set trusts the RFC 7515 A.1 HMAC key.",
		Vectors:     seg,
	}

	var kid []vector
	for _, c := range []struct{ name, kid, secret string }{
		{"kid path traversal to /dev/null, HMAC with an empty key", `../../../../dev/null`, "empty"},
		{"kid SQL injection", `' OR 1=1 --`, "rfc7515-a1"},
		{"kid SQL injection selecting a chosen key", `x' UNION SELECT 'AAAA`, "rfc7515-a1"},
		{"kid NUL", `\u0000`, "rfc7515-a1"},
		{"trusted kid with a NUL suffix", `rfc7515-a1\u0000`, "rfc7515-a1"},
		{"trusted kid in another case", `RFC7515-A1`, "rfc7515-a1"},
		{"trusted kid with trailing space", `rfc7515-a1 `, "rfc7515-a1"},
		{"kid command injection", `a.key|/usr/bin/id`, "rfc7515-a1"},
		{"kid URL", `https://attacker.example/key`, "rfc7515-a1"},
		{"kid empty", ``, "rfc7515-a1"},
	} {
		h := `{"alg":"HS256","kid":"` + c.kid + `"}`
		kid = append(kid, v(c.name, h, signed(enc(h), pseg, c.secret), a1, c.secret, "ErrUnknownKey"))
	}
	fams["kid-injection.json"] = family{
		Description: "Key IDs crafted to attack a key store that resolves kid by path, SQL or string tricks. latch only looks kid up, exactly, in the caller's set: each is an unknown key. The set trusts the RFC 7515 A.1 key with kid \"rfc7515-a1\".",
		Vectors:     kid,
	}

	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for name, f := range fams {
		var buf strings.Builder
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		e.SetIndent("", "  ")
		if err := e.Encode(f); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(buf.String()), 0o644); err != nil {
			panic(err)
		}
	}
}
