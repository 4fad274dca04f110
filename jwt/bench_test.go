package jwt

import (
	"testing"

	"github.com/latch-auth/latch/jose"
)

// benchPayload is the interop benchmark's access-token claims set (287
// bytes), the input of the claims-decoding benchmark.
const benchPayload = `{"iss":"https://auth.example.com","sub":"3f6c2a9e-8d41-4b7a-9c55-0e2f1a7b6d33","aud":"orders","exp":1800003600,"nbf":1800000000,"iat":1800000000,"jti":"b6f9d2a4c1e84f3a9e7d5c2b1a0f8e6d","client_id":"web-frontend","scope":"orders:read orders:write profile","roles":["admin","support"]}`

func BenchmarkParseClaims(b *testing.B) {
	payload := []byte(benchPayload)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		c, err := parseClaims(payload)
		if err != nil || len(c.Roles) != 2 {
			b.Fatalf("parseClaims: %v %v", c.Roles, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	k := mustKey(b, jose.HS256)
	v := mustValidator(b, k, ValidatorOptions{})
	token := rawToken(b, k, benchPayload)
	for b.Loop() {
		c, err := v.Parse(token)
		if err != nil || len(c.Roles) != 2 {
			b.Fatalf("Parse: %v %v", c.Roles, err)
		}
	}
}
