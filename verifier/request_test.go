package verifier_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
	"github.com/latch-auth/latch/verifier"
)

// TestTokenFromRequest: the token comes from the Authorization header or
// the access cookie, one way only; each refusal has its kind and a
// description that names the problem without the token.
func TestTokenFromRequest(t *testing.T) {
	const tok, other = "tok.en.sig", "oth.er.sig"
	tests := []struct {
		name     string
		headers  []string // Authorization values
		cookies  []string // AccessCookie values
		want     string
		wantErr  error
		wantDesc string
	}{
		{name: "header", headers: []string{"Bearer " + tok}, want: tok},
		{name: "scheme in any case", headers: []string{"bEARER " + tok}, want: tok},
		{name: "cookie", cookies: []string{tok}, want: tok},
		{name: "same token in header and cookie", headers: []string{"Bearer " + tok}, cookies: []string{tok}, want: tok},
		{name: "same cookie twice", cookies: []string{tok, tok}, want: tok},
		{name: "empty cookie ignored", cookies: []string{"", tok}, want: tok},
		{name: "nothing", wantErr: verifier.ErrNoToken, wantDesc: "access token required"},
		{name: "only an empty cookie", cookies: []string{""}, wantErr: verifier.ErrNoToken, wantDesc: "access token required"},
		{name: "two headers", headers: []string{"Bearer " + tok, "Bearer " + tok}, wantErr: verifier.ErrAmbiguousCredentials, wantDesc: "more than one Authorization header"},
		{name: "empty header", headers: []string{" "}, cookies: []string{tok}, wantErr: verifier.ErrAmbiguousCredentials, wantDesc: "empty Authorization header"},
		{name: "two cookies", cookies: []string{tok, other}, wantErr: verifier.ErrAmbiguousCredentials, wantDesc: "more than one access token cookie"},
		{name: "header and another cookie", headers: []string{"Bearer " + tok}, cookies: []string{other}, wantErr: verifier.ErrAmbiguousCredentials, wantDesc: "access token in both the Authorization header and a cookie"},
		{name: "other scheme", headers: []string{"Basic " + tok}, wantErr: jwt.ErrMalformed, wantDesc: "Authorization header must be: Bearer <token> or DPoP <token>"},
		{name: "scheme alone", headers: []string{"Bearer"}, wantErr: jwt.ErrMalformed, wantDesc: "Authorization header must be: Bearer <token> or DPoP <token>"},
		{name: "scheme and a space", headers: []string{"Bearer "}, wantErr: jwt.ErrMalformed, wantDesc: "Authorization header must be: Bearer <token> or DPoP <token>"},
		{name: "two words", headers: []string{"Bearer " + tok + " " + other}, wantErr: jwt.ErrMalformed, wantDesc: "Authorization header must be: Bearer <token> or DPoP <token>"},
		{name: "tab in token", headers: []string{"Bearer " + tok + "\t"}, wantErr: jwt.ErrMalformed, wantDesc: "Authorization header must be: Bearer <token> or DPoP <token>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			for _, c := range tt.cookies {
				r.AddCookie(&http.Cookie{Name: verifier.AccessCookie, Value: c})
			}
			got, err := verifier.TokenFromRequest(r)
			if tt.wantErr == nil {
				if got != tt.want || err != nil {
					t.Fatalf("TokenFromRequest() = %q, %v; want %q, nil", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || got != "" {
				t.Fatalf("TokenFromRequest() = %q, %v; want \"\", %v", got, err, tt.wantErr)
			}
			if desc := verifier.ErrorDescription(err); desc != tt.wantDesc {
				t.Errorf("ErrorDescription(%v) = %q, want %q", err, desc, tt.wantDesc)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), other) {
				t.Errorf("TokenFromRequest() error %q holds a token", err)
			}
		})
	}
}

// TestErrorDescription: Verify's errors are described by kind, coarsely,
// without their detail.
func TestErrorDescription(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{jwt.ErrExpired, "token expired"},
		{jwt.ErrNotYetValid, "token not yet valid"},
		{jwt.ErrIssuedInFuture, "token not yet valid"},
		{jwt.ErrAudience, "token not meant for this service"},
		{verifier.ErrUnknownIssuer, "token not meant for this service"},
		{jwt.ErrType, "token not meant for this service"},
		{jwt.ErrTooLarge, "token too large"},
		{revocation.ErrRevoked, "token revoked"},
		{jwt.ErrSignature, "token invalid"},
		{jwt.ErrMalformed, "token invalid"},
		{jwt.ErrUnknownKey, "token invalid"},
		{errors.New("anything else"), "token invalid"},
	}
	for _, tt := range tests {
		err := errors.Join(tt.err, errors.New("secret detail"))
		if got := verifier.ErrorDescription(err); got != tt.want {
			t.Errorf("ErrorDescription(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
