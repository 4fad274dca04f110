package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/latch-auth/latch/jose"
)

func keysCommand() *command {
	c := &command{name: "keys", args: "<command> [arguments]", summary: "key management",
		detail: "generate and public work on key files: JWKs (RFC 7517), printed as indented\n" +
			"JSON. list, rotate and retire manage the server's signing keys in a data\n" +
			"directory."}
	c.add(ringCommands()...)
	return c.add(
		&command{name: "generate", args: "--alg ALG [--kid KID]", setup: keysGenerate,
			summary: "print a new private JWK",
			detail: "generate prints a new private key as a JWK. Its \"kid\" is the RFC 7638 thumbprint\n" +
				"unless --kid is given. HMAC algorithms get a random secret of the hash size,\n" +
				"RSA ones a 2048-bit key.",
		},
		&command{name: "public", args: "[--alg ALG] [--kid KID] [FILE|-]", setup: keysPublic,
			summary: "print the public JWK of a key",
			detail: "public prints the public half of a JWK or PEM key (PEM needs --alg, and takes\n" +
				"its \"kid\" from --kid), or the public JWK Set of a JWK Set, reading standard\n" +
				"input when FILE is \"-\" or absent. An HMAC secret has no public half and is\n" +
				"refused.",
		},
	)
}

func keysGenerate(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var alg algFlag
	fs.Var(&alg, "alg", "algorithm `ALG` of the new key: "+algorithmList()+" (required)")
	kid := fs.String("kid", "", "key ID `KID` (default: the RFC 7638 thumbprint)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "alg", alg.String()); err != nil {
			return err
		}
		key, err := jose.GenerateKey(alg.alg)
		if err != nil {
			return err
		}
		if *kid != "" {
			key = key.WithKeyID(*kid)
		}
		jwk, err := key.PrivateJWK()
		if err != nil {
			return err
		}
		return writeJSON(e, jwk)
	}
}

func keysPublic(c *command, fs *flag.FlagSet) func(*env, []string) error {
	keys := addKeyFlags(fs, false)
	return func(e *env, args []string) error {
		var err error
		if keys.file, err = optionalArg(c, args); err != nil {
			return err
		}
		kf, err := keys.load(e, c)
		if err != nil {
			return err
		}
		var out []byte
		if kf.isSet {
			out, err = kf.set.PublicJWKS()
		} else {
			out, err = kf.set.Keys()[0].PublicJWK()
		}
		if err != nil {
			return err
		}
		return writeJSON(e, out)
	}
}

func algorithmList() string {
	var b bytes.Buffer
	for i, a := range jose.Algorithms() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(a))
	}
	return b.String()
}

// printJSON writes v as indented JSON, for the --json listings.
func printJSON(e *env, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeJSON(e, b)
}

// writeJSON writes the JSON document data to standard output, indented by
// two spaces and ending in a newline.
func writeJSON(e *env, data []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return fmt.Errorf("formatting JSON output: %w", err)
	}
	b.WriteByte('\n')
	// Claims and names come from tokens and users: keep terminal
	// controls in them inert.
	_, err := e.stdout.Write(printableJSON(b.Bytes()))
	return err
}
