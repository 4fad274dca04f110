package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// defaultTTL is the lifetime "token sign" gives a token without "exp".
const defaultTTL = 15 * time.Minute

func tokenCommand() *command {
	return (&command{name: "token", args: "<command> [arguments]", summary: "sign, verify and decode JWTs",
		detail: "token signs, verifies and decodes JSON Web Tokens (RFC 7519)."}).add(
		&command{name: "sign", args: "--key FILE --claims JSON|@FILE [--ttl 15m] [--typ JWT] [--alg ALG] [--kid KID]\n" +
			"\t[--encrypt-to FILE [--encrypt-alg ALG] [--enc ENC]]",
			setup: tokenSign, summary: "sign a claims object, print the JWT",
			detail: "sign signs the claims object given inline, or read from FILE (\"@-\": standard\n" +
				"input), and prints the JWT and a newline. Unless the claims set them, iat and nbf\n" +
				"are now, exp is now plus --ttl and jti is 128 random bits in base64url.\n" +
				"iss, sub, jti, client_id, sid and scope must be strings, aud a string or an\n" +
				"array of strings, roles an array of strings, exp, nbf and iat whole seconds\n" +
				"since 1970; other members are copied as they are.\n\n" +
				"--encrypt-to FILE issues a nested JWT (RFC 7519 §5.2): signed, then encrypted to\n" +
				"the recipient's key in FILE (a public JWK or PEM key; see 'latch jwe'), with JWE\n" +
				"header cty JWT, so that only the recipient can read the claims.",
		},
		&command{name: "verify", args: "--key FILE --iss ISS --aud AUD [--leeway 30s] [--now UNIX] [--typ T] [--max-token-size N]\n" +
			"\t[--decrypt-key FILE] [TOKEN|-]",
			setup: tokenVerify, summary: "verify a JWT, print its claims",
			detail: "verify checks the signature of TOKEN (or of the token on standard input when\n" +
				"TOKEN is \"-\" or absent) against the keys of --key, then its issuer, audience,\n" +
				"exp (required), nbf and iat, and prints the verified claims as indented JSON.\n" +
				"A token over 16 KiB is refused, as verifiers built on latch refuse it by\n" +
				"default (jose.DefaultMaxTokenSize); --max-token-size raises the limit.\n\n" +
				"With --issuer-url URL instead of --key, the keys are fetched from the running latch\n" +
				"server's JWKS, and with --client-id (a client with the scope revocations:read)\n" +
				"and its secret (--client-secret-stdin, or LATCH_CLIENT_SECRET) the server's\n" +
				"revocation feed is read first, so that a revoked token is refused as a\n" +
				"service would refuse it. --iss defaults to the issuer URL.\n\n" +
				"--decrypt-key FILE (a private JWK or PEM key) verifies a nested JWT, as a\n" +
				"service with that key does: the token is decrypted, then verified; a token\n" +
				"that is not encrypted is refused. Without it, an encrypted token is refused.",
		},
		&command{name: "decode", args: "[--max-token-size N] [--size] [TOKEN|-]", setup: tokenDecode,
			summary: "print a JWT's header and payload WITHOUT verifying",
			detail:  decodeDetail,
		},
	)
}

func tokenSign(c *command, fs *flag.FlagSet) func(*env, []string) error {
	keys := addKeyFlags(fs, true)
	claimsArg := fs.String("claims", "", "the claims, a `JSON` object, or @FILE to read it from FILE (@- for standard input) (required)")
	ttl := fs.Duration("ttl", defaultTTL, "lifetime `DURATION` for the default exp")
	typ := fs.String("typ", "JWT", "header typ `TYPE`, e.g. at+jwt for access tokens")
	encryptTo := fs.String("encrypt-to", "", "encrypt the signed JWT to the recipient's key `FILE` (a nested JWT)")
	var encAlg kmFlag
	fs.Var(&encAlg, "encrypt-alg", "key management algorithm `ALG` of an --encrypt-to key that does not name its own")
	var enc encFlag
	fs.Var(&enc, "enc", "content encryption `ENC` with --encrypt-to (default A256GCM)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "claims", *claimsArg); err != nil {
			return err
		}
		if *ttl <= 0 {
			return usagef(c, "--ttl must be positive")
		}
		key, err := keys.signingKey(e, c)
		if err != nil {
			return err
		}
		data, err := e.claimsInput(*claimsArg)
		if err != nil {
			return err
		}
		claims, present, err := parseClaims(data)
		if err != nil {
			return err
		}
		if err := fillDefaults(&claims, present, e.now(), *ttl); err != nil {
			return err
		}
		var tok string
		if *encryptTo != "" {
			to, err := e.loadEncryptionKey(*encryptTo, encAlg.alg, enc.enc)
			if err != nil {
				return err
			}
			if to, err = encryptionTarget(to); err != nil {
				return err
			}
			tok, err = jwt.SignNested(key, &claims, jose.SignOptions{Type: *typ}, to, jose.EncryptOptions{Encryption: enc.enc})
			if err != nil {
				return err
			}
		} else if tok, err = jwt.Sign(key, &claims, jose.SignOptions{Type: *typ}); err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, tok)
		return err
	}
}

// claimsInput returns the --claims value, or the content of the file it
// names with a leading '@'.
func (e *env) claimsInput(arg string) ([]byte, error) {
	if name, ok := strings.CutPrefix(arg, "@"); ok {
		return e.readInput(name, "claims", maxClaimsSize)
	}
	if len(arg) > maxClaimsSize {
		return nil, fmt.Errorf("claims are larger than %s", sizeText(maxClaimsSize))
	}
	return []byte(arg), nil
}

// fillDefaults sets iat, nbf, exp and jti where the claims had none.
func fillDefaults(c *jwt.Claims, present map[string]bool, now time.Time, ttl time.Duration) error {
	now = now.Truncate(time.Second)
	if !present["iat"] {
		c.IssuedAt = now
	}
	if !present["nbf"] {
		c.NotBefore = now
	}
	if !present["exp"] {
		c.ExpiresAt = now.Add(ttl)
	}
	if !present["jti"] {
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			return fmt.Errorf("generating jti: %w", err)
		}
		c.ID = base64.RawURLEncoding.EncodeToString(id[:])
	}
	return nil
}

func tokenVerify(c *command, fs *flag.FlagSet) func(*env, []string) error {
	keys := addKeyFlags(fs, true)
	issuerURL := fs.String("issuer-url", "", "verify against the running latch server at `URL` (its JWKS, and its revocation feed with --client-id) instead of --key")
	clientID := fs.String("client-id", "", "client `ID` with the scope revocations:read, to refuse revoked tokens (with --issuer-url)")
	secretStdin := fs.Bool("client-secret-stdin", false, "read the client secret from standard input (the token is then an argument); default: LATCH_CLIENT_SECRET")
	iss := fs.String("iss", "", "expected issuer `ISS` (required; with --issuer-url, default that URL)")
	aud := fs.String("aud", "", "expected audience `AUD` (required)")
	leeway := fs.Duration("leeway", jwt.DefaultLeeway, "clock skew `DURATION` tolerated on exp, nbf and iat; 0 for none")
	now := fs.Int64("now", 0, "check times as of `UNIX` seconds instead of the clock")
	typ := fs.String("typ", "", "required header typ `TYPE`, e.g. at+jwt (default: any)")
	sizeFlag := addTokenSizeFlag(fs)
	decryptKey := fs.String("decrypt-key", "", "decrypt a nested JWT with the private key `FILE` before verifying it")
	return func(e *env, args []string) error {
		arg, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		maxSize, err := sizeFlag.value(c)
		if err != nil {
			return err
		}
		if *issuerURL != "" && *iss == "" {
			*iss = *issuerURL
		}
		if err := required(c, "iss", *iss); err != nil {
			return err
		}
		if err := required(c, "aud", *aud); err != nil {
			return err
		}
		if *leeway < 0 {
			return usagef(c, "--leeway must not be negative")
		}
		opts := jwt.ValidatorOptions{Leeway: *leeway, Type: *typ, MaxTokenSize: maxSize, Now: e.now}
		if *leeway == 0 {
			opts.Leeway = jwt.NoLeeway
		}
		if *now != 0 {
			at := time.Unix(*now, 0)
			opts.Now = func() time.Time { return at }
		}
		if *decryptKey != "" {
			key, err := e.loadEncryptionKey(*decryptKey, "", "")
			if err != nil {
				return err
			}
			if !key.CanDecrypt() {
				return fmt.Errorf("%s is a public key: decryption needs the private key", keyLabel(*decryptKey))
			}
			if opts.Decryption, err = jose.NewEncryptionKeySet(key); err != nil {
				return err
			}
		}
		if *issuerURL != "" || *clientID != "" || *secretStdin {
			return verifyAtIssuer(c, e, issuerVerify{
				url: *issuerURL, keyFile: keys.file, clientID: *clientID, secretStdin: *secretStdin,
				iss: *iss, aud: *aud, opts: opts, arg: arg,
			})
		}
		set, err := keys.keySet(e, c)
		if err != nil {
			return err
		}
		tok, err := e.readToken(arg, maxSize)
		if err != nil {
			return err
		}
		v, err := jwt.NewValidator(set, *iss, *aud, opts)
		if err != nil {
			return err
		}
		claims, err := v.Parse(tok)
		if err != nil {
			return err
		}
		return writeJSON(e, claims.Raw())
	}
}
