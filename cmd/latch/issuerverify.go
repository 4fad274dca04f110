package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// issuerVerify is "token verify --issuer-url": the parsed command line.
type issuerVerify struct {
	url, keyFile string
	clientID     string
	secretStdin  bool
	iss, aud     string
	opts         jwt.ValidatorOptions
	arg          string // the TOKEN argument, "-" for standard input
}

// issuerTimeout bounds the whole exchange with the server.
const issuerTimeout = 15 * time.Second

// verifyAtIssuer verifies a token as a resource service would: with the
// verifier package, against the server's JWKS and, given client
// credentials, its revocation feed.
func verifyAtIssuer(c *command, e *env, iv issuerVerify) error {
	switch {
	case iv.url == "":
		return usagef(c, "--client-id and --client-secret-stdin need --issuer-url")
	case iv.keyFile != "":
		return usagef(c, "give --key or --issuer-url, not both")
	case iv.secretStdin && iv.clientID == "":
		return usagef(c, "--client-secret-stdin needs --client-id")
	case iv.secretStdin && iv.arg == "-":
		return usagef(c, "with --client-secret-stdin, give the token as an argument")
	}
	u, err := url.Parse(iv.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef(c, "--issuer-url must be an http or https URL")
	}
	var secret string
	if iv.clientID != "" {
		if iv.secretStdin {
			data, err := e.readInput("-", "client secret", 1024)
			if err != nil {
				return err
			}
			line, _, _ := strings.Cut(string(data), "\n")
			secret = strings.TrimSpace(line)
		} else {
			secret = e.env("LATCH_CLIENT_SECRET")
		}
		if secret == "" {
			return errors.New("--client-id needs the client secret: --client-secret-stdin or LATCH_CLIENT_SECRET")
		}
	}
	tok, err := e.readToken(iv.arg, iv.opts.MaxTokenSize)
	if err != nil {
		return err
	}
	typ := iv.opts.Type
	if typ == "" {
		typ = "-"
	}
	ctx, cancel := context.WithTimeout(e.context(), issuerTimeout)
	defer cancel()
	v, err := verifier.New(ctx, verifier.Config{
		Issuers: []verifier.Issuer{{
			Issuer: iv.iss, Audience: iv.aud,
			JWKSURL:  strings.TrimRight(iv.url, "/") + "/.well-known/jwks.json",
			ClientID: iv.clientID, ClientSecret: secret,
			RevocationsURL: strings.TrimRight(iv.url, "/") + "/v1/revocations",
		}},
		Type: typ, Leeway: iv.opts.Leeway, MaxTokenSize: iv.opts.MaxTokenSize,
		Now: iv.opts.Now, CacheSize: -1, FetchTimeout: 10 * time.Second,
		DecryptionKeys: iv.opts.Decryption,
	})
	if err != nil {
		return err
	}
	defer v.Close()
	claims, err := v.Verify(ctx, tok)
	if err != nil {
		return err
	}
	return writeJSON(e, claims.Raw())
}
