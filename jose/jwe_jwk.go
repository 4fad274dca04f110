package jose

import (
	"crypto/rsa"
	"fmt"

	"github.com/latch-auth/latch/internal/strictjson"
)

// PublicJWK returns the public key as a compact JWK with "use": "enc" and
// its "alg", which ParseEncryptionJWK reads back: what a client registers
// so that tokens can be encrypted to it. Secret keys have no public form:
// ErrInvalidKey.
func (k *EncryptionKey) PublicJWK() ([]byte, error) {
	if k.secret != nil {
		return nil, fmt.Errorf("%w: a secret key has no public JWK", ErrInvalidKey)
	}
	return k.appendJWK(nil, false)
}

// PrivateJWK returns the key with its private members (or secret) as a
// compact JWK. For "dir" the "alg" is the content encryption, as in RFC
// 7520 §5.6. A public key has no private form: ErrInvalidKey. The result
// is a secret.
func (k *EncryptionKey) PrivateJWK() ([]byte, error) {
	if !k.CanDecrypt() {
		return nil, fmt.Errorf("%w: a public key has no private JWK", ErrInvalidKey)
	}
	return k.appendJWK(nil, true)
}

func (k *EncryptionKey) appendJWK(dst []byte, private bool) ([]byte, error) {
	alg := string(k.alg)
	if k.alg == Direct {
		alg = string(k.enc)
	}
	var kty string
	switch {
	case k.secret != nil:
		kty = "oct"
	case k.rsaPub != nil:
		kty = "RSA"
	case curveName(k.ecdhPub.Curve()) == "X25519":
		kty = "OKP"
	default:
		kty = "EC"
	}
	dst = fmt.Appendf(dst, `{"kty":"%s","kid":`, kty)
	var err error
	if dst, err = strictjson.AppendQuoted(dst, k.kid); err != nil {
		return nil, fmt.Errorf("%w: key ID is not valid UTF-8", ErrInvalidKey)
	}
	dst = fmt.Appendf(dst, `,"use":"enc","alg":"%s"`, alg)
	switch kty {
	case "oct":
		dst = appendB64Member(dst, "k", k.secret)
	case "RSA":
		var priv *rsa.PrivateKey
		if private {
			priv = k.rsaPriv
		}
		if dst, err = appendRSAMembers(dst, k.rsaPub, priv); err != nil {
			return nil, err
		}
	case "OKP":
		dst = append(dst, `,"crv":"X25519"`...)
		dst = appendB64Member(dst, "x", k.ecdhPub.Bytes())
		if private {
			dst = appendB64Member(dst, "d", k.ecdhPriv.Bytes())
		}
	default:
		p := k.ecdhPub.Bytes()
		n := (len(p) - 1) / 2
		dst = fmt.Appendf(dst, `,"crv":"%s"`, curveName(k.ecdhPub.Curve()))
		dst = appendB64Member(dst, "x", p[1:1+n])
		dst = appendB64Member(dst, "y", p[1+n:])
		if private {
			dst = appendB64Member(dst, "d", k.ecdhPriv.Bytes())
		}
	}
	return append(dst, '}'), nil
}
