package main

import (
	"flag"
	"fmt"

	"github.com/latch-auth/latch/jose"
)

func jweCommand() *command {
	return (&command{name: "jwe", args: "<command> [arguments]", summary: "encrypt and decrypt payloads; encryption keys",
		detail: "jwe encrypts and decrypts compact JSON Web Encryption (RFC 7516) over any bytes,\n" +
			"and makes encryption keys. Key files are JWKs (RFC 7517) or PEM keys. The key\n" +
			"decides the key management algorithm: a JWK's \"alg\", or --alg for a key that\n" +
			"has none (default RSA-OAEP-256 for RSA keys, ECDH-ES+A256KW for EC and X25519).\n" +
			"Supported: dir, A128KW, A256KW, ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A256KW,\n" +
			"RSA-OAEP-256; content encryption A128CBC-HS256, A256CBC-HS512, A128GCM, A256GCM."}).add(
		&command{name: "encrypt", args: "--key FILE [--alg ALG] [--enc ENC] [--cty CTY] [FILE|-]", setup: jweEncrypt,
			summary: "encrypt a payload, print the compact JWE",
			detail: "encrypt encrypts the bytes of FILE, or of standard input when FILE is \"-\" or\n" +
				"absent (at most 16 MiB), to the key of --key (a public key, or a shared secret;\n" +
				"a private key's public half is used) and prints the compact JWE and a newline.\n" +
				"--enc defaults to A256GCM, or a dir key's own. --cty JWT marks a nested JWT;\n" +
				"'latch token sign --encrypt-to FILE' makes one in one step.",
		},
		&command{name: "decrypt", args: "--key FILE [--alg ALG] [--max-token-size N] [TOKEN|-]", setup: jweDecrypt,
			summary: "decrypt a compact JWE, print its plaintext",
			detail: "decrypt decrypts TOKEN (or the token on standard input when TOKEN is \"-\" or\n" +
				"absent) with the private key or secret of --key and writes the plaintext to\n" +
				"standard output exactly, with no newline added. Every failure that depends on\n" +
				"the key is the same error, \"decryption failed\". The plaintext of a nested JWT\n" +
				"is a signed JWT that is NOT verified yet: pipe it to 'latch token verify'.",
		},
		&command{name: "generate", args: "--alg ALG [--enc ENC] [--kid KID]", setup: jweGenerate,
			summary: "print a new private encryption JWK",
			detail: "generate prints a new encryption key as a private JWK: an X25519 key for the\n" +
				"ECDH-ES algorithms, a 2048-bit RSA key for RSA-OAEP-256, a random secret for\n" +
				"A128KW, A256KW and dir (which needs --enc). Its \"kid\" is a hash of the key\n" +
				"unless --kid is given. 'latch jwe public' prints the half to give senders.",
		},
		&command{name: "public", args: "[--alg ALG] [FILE|-]", setup: jwePublic,
			summary: "print the public JWK of an encryption key",
			detail: "public prints the public half of an encryption key (JWK or PEM), reading\n" +
				"standard input when FILE is \"-\" or absent: what a service registers with\n" +
				"'latch client add|update --encryption-key'. A shared secret has no public\n" +
				"half and is refused.",
		},
	)
}

func jweEncrypt(c *command, fs *flag.FlagSet) func(*env, []string) error {
	file := fs.String("key", "", "key `FILE` to encrypt to: a JWK or a PEM key (required)")
	var alg kmFlag
	fs.Var(&alg, "alg", "key management algorithm `ALG` of a key that does not name its own")
	var enc encFlag
	fs.Var(&enc, "enc", "content encryption `ENC` (default A256GCM, or a dir key's)")
	cty := fs.String("cty", "", "header cty `CTY`, e.g. JWT for a nested JWT")
	return func(e *env, args []string) error {
		name, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		if err := required(c, "key", *file); err != nil {
			return err
		}
		key, err := e.loadEncryptionKey(*file, alg.alg, enc.enc)
		if err != nil {
			return err
		}
		if key, err = encryptionTarget(key); err != nil {
			return err
		}
		payload, err := e.readInput(name, "payload", maxPayloadSize)
		if err != nil {
			return err
		}
		tok, err := jose.Encrypt(payload, key, jose.EncryptOptions{Encryption: enc.enc, ContentType: *cty})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, tok)
		return err
	}
}

// encryptionTarget is the key to encrypt to: key itself, or the public
// half of a private key.
func encryptionTarget(key *jose.EncryptionKey) (*jose.EncryptionKey, error) {
	if key.IsSymmetric() || !key.CanDecrypt() {
		return key, nil
	}
	return key.Public()
}

func jweDecrypt(c *command, fs *flag.FlagSet) func(*env, []string) error {
	file := fs.String("key", "", "private key `FILE` to decrypt with: a JWK or a PEM key (required)")
	var alg kmFlag
	fs.Var(&alg, "alg", "key management algorithm `ALG` of a key that does not name its own")
	sizeFlag := addTokenSizeFlag(fs)
	return func(e *env, args []string) error {
		arg, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		if err := required(c, "key", *file); err != nil {
			return err
		}
		maxSize, err := sizeFlag.value(c)
		if err != nil {
			return err
		}
		key, err := e.loadEncryptionKey(*file, alg.alg, "")
		if err != nil {
			return err
		}
		if !key.CanDecrypt() {
			return fmt.Errorf("%s is a public key: decryption needs the private key", keyLabel(*file))
		}
		set, err := jose.NewEncryptionKeySet(key)
		if err != nil {
			return err
		}
		tok, err := e.readToken(arg, maxSize)
		if err != nil {
			return err
		}
		_, pt, err := jose.Decrypt(tok, set, jose.DecryptOptions{MaxTokenSize: maxSize})
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(pt)
		return err
	}
}

func jweGenerate(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var alg kmFlag
	fs.Var(&alg, "alg", "key management algorithm `ALG` of the new key (required)")
	var enc encFlag
	fs.Var(&enc, "enc", "content encryption `ENC` of a dir key")
	kid := fs.String("kid", "", "key ID `KID` (default: a hash of the key)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "alg", alg.String()); err != nil {
			return err
		}
		if alg.alg == jose.Direct && enc.enc == "" {
			return usagef(c, "a dir key needs --enc")
		}
		key, err := jose.GenerateEncryptionKey(alg.alg, enc.enc)
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

func jwePublic(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var alg kmFlag
	fs.Var(&alg, "alg", "key management algorithm `ALG` of a key that does not name its own")
	return func(e *env, args []string) error {
		name, err := optionalArg(c, args)
		if err != nil {
			return err
		}
		key, err := e.loadEncryptionKey(name, alg.alg, "")
		if err != nil {
			return err
		}
		if key.IsSymmetric() {
			return fmt.Errorf("%s is a shared secret (%s): it has no public half", keyLabel(name), key.Algorithm())
		}
		jwk, err := key.PublicJWK()
		if err != nil {
			return err
		}
		return writeJSON(e, jwk)
	}
}
