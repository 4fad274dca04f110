package main

import (
	"flag"
	"fmt"

	"github.com/latch-auth/latch/jose"
)

func jwsCommand() *command {
	return (&command{name: "jws", args: "<command> [arguments]", summary: "sign and verify raw payloads",
		detail: "jws signs and verifies compact JSON Web Signatures (RFC 7515) over any bytes."}).add(
		&command{name: "sign", args: "--key FILE [--alg ALG] [--kid KID] [FILE|-]", setup: jwsSign,
			summary: "sign a payload, print the compact JWS",
			detail: "sign signs the bytes of FILE, or of standard input when FILE is \"-\" or absent\n" +
				"(at most 16 MiB), and prints the compact JWS and a newline. A JWS over 16 KiB\n" +
				"gets a warning: verifiers refuse it unless told otherwise (jws verify\n" +
				"--max-token-size).",
		},
		&command{name: "verify", args: "--key FILE [--alg ALG] [--kid KID] [--max-token-size N] [TOKEN|-]", setup: jwsVerify,
			summary: "verify a compact JWS, print its payload",
			detail: "verify checks TOKEN (or the token on standard input when TOKEN is \"-\" or\n" +
				"absent) against the keys of --key and writes its payload to standard output\n" +
				"exactly, with no newline added. A JWS over 16 KiB is refused, as verifiers\n" +
				"built on latch refuse it by default (jose.DefaultMaxTokenSize);\n" +
				"--max-token-size raises the limit, up to what the largest payload jws sign\n" +
				"accepts needs.",
		},
	)
}

func jwsSign(c *command, fs *flag.FlagSet) func(*env, []string) error {
	keys := addKeyFlags(fs, true)
	return func(e *env, args []string) error {
		name, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		key, err := keys.signingKey(e, c)
		if err != nil {
			return err
		}
		payload, err := e.readInput(name, "payload", maxPayloadSize)
		if err != nil {
			return err
		}
		tok, err := jose.Sign(key, payload, jose.SignOptions{})
		if err != nil {
			return err
		}
		if len(tok) > jose.DefaultMaxTokenSize {
			warn(e.stderr, "the JWS is %s, over the %s verifiers accept by default: verify it with --max-token-size %d",
				sizeText(len(tok)), sizeText(jose.DefaultMaxTokenSize), len(tok))
		}
		_, err = fmt.Fprintln(e.stdout, tok)
		return err
	}
}

func jwsVerify(c *command, fs *flag.FlagSet) func(*env, []string) error {
	keys := addKeyFlags(fs, true)
	sizeFlag := addTokenSizeFlag(fs)
	return func(e *env, args []string) error {
		arg, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		maxSize, err := sizeFlag.value(c)
		if err != nil {
			return err
		}
		set, err := keys.keySet(e, c)
		if err != nil {
			return err
		}
		tok, err := e.readToken(arg, maxSize)
		if err != nil {
			return err
		}
		_, payload, err := jose.Verify(tok, set, jose.VerifyOptions{MaxTokenSize: maxSize})
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(payload)
		return err
	}
}
