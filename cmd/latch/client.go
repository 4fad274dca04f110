package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/store"
)

func clientCommand() *command {
	return (&command{name: "client", args: "<command> [arguments]", summary: "service and application credentials (OAuth clients)",
		detail: "The client commands manage OAuth 2.0 clients: the services that authenticate to the\n" +
			"server with HTTP Basic (client_secret_basic) to follow the revocation feed (scope\n" +
			"revocations:read) or introspect tokens (scope introspect), and the applications that\n" +
			"sign users in with the authorization code flow or get tokens of their own with\n" +
			"client credentials. They work on the data directory directly; the server may be\n" +
			"running."}).add(
		&command{name: "add", setup: clientAdd,
			args: "--name NAME [--scope SCOPE]... [--grant-type GRANT]... [--redirect-uri URI]...\n" +
				"\t[--post-logout-redirect-uri URI]... [--public] [--auth-method METHOD] [--first-party] [--require-dpop]\n" +
				"\t[--encryption-key FILE] [--json]",
			summary: "register a client and print its secret once",
			detail: "add registers a client and prints its client ID and, for a confidential client, its\n" +
				"secret. The secret is shown only this once: the server keeps only its SHA-256 hash.\n\n" +
				"Without --grant-type the client is a service: it needs at least one --scope, of\n" +
				"revocations:read (follow the revocation feed) and introspect (RFC 7662 token\n" +
				"introspection). With --grant-type (authorization_code, refresh_token,\n" +
				"client_credentials) it is an OAuth application and may hold any scope, such as\n" +
				"openid, profile, email, offline_access or an API's own. The authorization_code\n" +
				"grant needs at least one --redirect-uri: https, http for a loopback host\n" +
				"(127.0.0.1, [::1], localhost), or a native app's private-use scheme such as\n" +
				"com.example.app:/callback; requests must name it exactly.\n\n" +
				"--public registers a client that cannot keep a secret (a native or browser app):\n" +
				"it has none, authenticates with its client ID alone (method none) and must use\n" +
				"PKCE. A confidential client authenticates with client_secret_basic (the default)\n" +
				"or client_secret_post (--auth-method). --first-party skips the consent screen.\n" +
				"--require-dpop refuses the client's token requests without a DPoP proof (RFC 9449),\n" +
				"so that every token it gets is bound to its key.\n\n" +
				encryptionKeyDetail},
		&command{name: "update", setup: clientUpdate,
			args: "--id ID [--name NAME] [--scope SCOPE]... [--grant-type GRANT]... [--redirect-uri URI]...\n" +
				"\t[--post-logout-redirect-uri URI]... [--public[=false]] [--auth-method METHOD]\n" +
				"\t[--first-party[=false]] [--require-dpop[=false]] [--encryption-key FILE|''] [--rotate-secret]",
			summary: "change a client's registration or secret",
			detail: "update changes what it is given and keeps the rest. A list flag given replaces the\n" +
				"whole list; an empty value (--redirect-uri '') clears it. --public=false makes a\n" +
				"public client confidential and gives it a secret. --rotate-secret replaces the\n" +
				"secret: the old one stops working within a second (the token endpoint keeps a\n" +
				"client for at most 1 s). It prints the client as JSON, with its\n" +
				"new secret, if it has one, shown only this once."},
		&command{name: "list", args: "[--json]", setup: clientList, summary: "list clients"},
		&command{name: "remove", args: "--id ID", setup: clientRemove,
			summary: "remove a client; its secret, codes and consents stop working within a second"},
	)
}

// listFlag collects repeated or comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// repeatFlag collects repeated values as they are, since a URI may hold a
// comma; an empty value adds nothing.
type repeatFlag []string

func (r *repeatFlag) String() string { return strings.Join(*r, " ") }

func (r *repeatFlag) Set(v string) error {
	if v != "" {
		*r = append(*r, v)
	}
	return nil
}

// registrationFlags are the flags add and update share.
type registrationFlags struct {
	name       *string
	scopes     listFlag
	grants     listFlag
	redirects  repeatFlag
	postLogout repeatFlag
	public     *bool
	authMethod *string
	firstParty *bool
	// requireDPoP is store.Client.RequireDPoP, which Registration lacks.
	requireDPoP *bool
}

func addRegistrationFlags(fs *flag.FlagSet, r *registrationFlags, nameUsage string) {
	r.name = fs.String("name", "", nameUsage)
	fs.Var(&r.scopes, "scope", "`SCOPE` the client may use or request (repeatable or comma-separated)")
	fs.Var(&r.grants, "grant-type", "`GRANT` the client may use (repeatable or comma-separated): authorization_code, refresh_token, client_credentials")
	fs.Var(&r.redirects, "redirect-uri", "exact redirect `URI` for the authorization code grant (repeatable)")
	fs.Var(&r.postLogout, "post-logout-redirect-uri", "exact `URI` logout may return the browser to (repeatable)")
	r.public = fs.Bool("public", false, "a public client: no secret, PKCE only (token endpoint method none)")
	r.authMethod = fs.String("auth-method", "", "token endpoint authentication `METHOD` of a confidential client: client_secret_basic (default) or client_secret_post")
	r.firstParty = fs.Bool("first-party", false, "a first-party client: users are not asked for consent")
	r.requireDPoP = fs.Bool("require-dpop", false, "the client must send a DPoP proof (RFC 9449) at the token endpoint, so its tokens are bound to its key; --require-dpop=false lifts it")
}

// registration returns reg with the flags that were given applied.
func (r *registrationFlags) registration(reg client.Registration, given map[string]bool) client.Registration {
	if given["name"] {
		reg.Name = *r.name
	}
	if given["scope"] {
		reg.Scopes = r.scopes
	}
	if given["grant-type"] {
		reg.GrantTypes = r.grants
	}
	if given["redirect-uri"] {
		reg.RedirectURIs = r.redirects
	}
	if given["post-logout-redirect-uri"] {
		reg.PostLogoutRedirectURIs = r.postLogout
	}
	if given["public"] {
		typ := store.ClientConfidential
		if *r.public {
			typ = store.ClientPublic
		}
		if typ != reg.Type && !given["auth-method"] {
			reg.AuthMethod = "" // the new type's default
		}
		reg.Type = typ
	}
	if given["auth-method"] {
		reg.AuthMethod = *r.authMethod
	}
	if given["first-party"] {
		reg.FirstParty = *r.firstParty
	}
	return reg
}

// applyDPoP sets c's DPoP requirement when --require-dpop was given.
func (r *registrationFlags) applyDPoP(c store.Client, given map[string]bool) store.Client {
	if given["require-dpop"] {
		c.RequireDPoP = *r.requireDPoP
	}
	return c
}

// givenFlags returns the names of the flags set on the command line.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// clientView is a client as the commands print it in JSON, with the
// names of RFC 7591 client metadata where there is one.
type clientView struct {
	ID                     string          `json:"client_id"`
	Secret                 string          `json:"client_secret,omitempty"`
	Name                   string          `json:"name"`
	Type                   string          `json:"type"`
	AuthMethod             string          `json:"token_endpoint_auth_method"`
	GrantTypes             []string        `json:"grant_types"`
	RedirectURIs           []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris"`
	Scopes                 []string        `json:"scopes"`
	FirstParty             bool            `json:"first_party"`
	RequireDPoP            bool            `json:"dpop_bound_access_tokens"` // RFC 9449 §5.2
	EncryptionKey          json.RawMessage `json:"encryption_key,omitempty"`
	CreatedAt              time.Time       `json:"created_at"`
	UpdatedAt              time.Time       `json:"updated_at"`
}

func viewOf(c store.Client, secret string) clientView {
	nonNil := func(v []string) []string { return append([]string{}, v...) }
	return clientView{
		ID: c.ID, Secret: secret, Name: c.Name, Type: c.Type, AuthMethod: c.AuthMethod,
		GrantTypes: nonNil(c.GrantTypes), RedirectURIs: nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), Scopes: nonNil(c.Scopes),
		FirstParty: c.FirstParty, RequireDPoP: c.RequireDPoP, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		EncryptionKey: encryptionKeyView(c.EncryptionKey),
	}
}

func clientAdd(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	var r registrationFlags
	addRegistrationFlags(fs, &r, "`NAME` of the client, e.g. the service's name (required)")
	asJSON := fs.Bool("json", false, "print the client as JSON")
	encKeyFile := addEncryptionKeyFlag(fs)
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "name", *r.name); err != nil {
			return err
		}
		if len(r.grants) == 0 && len(r.scopes) == 0 {
			return usagef(c, "at least one --scope is required for a client without --grant-type")
		}
		given := givenFlags(fs)
		reg := r.registration(client.Registration{}, given)
		cl, secret, err := client.NewClient(reg, e.now())
		if err != nil {
			return err
		}
		cl = r.applyDPoP(cl, given)
		if cl.EncryptionKey, err = e.clientEncryptionKey(*encKeyFile); err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			if err := a.db.CreateClient(e.context(), cl); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("a client named %s already exists", safeText(cl.Name))
				}
				return err
			}
			if *asJSON {
				if err := printJSON(e, viewOf(cl, secret)); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(e.stdout, "client_id:     %s\n", cl.ID)
				if secret != "" {
					fmt.Fprintf(e.stdout, "client_secret: %s\n", secret)
				}
			}
			if secret != "" {
				fmt.Fprintf(e.stderr, "latch: the secret is shown only once; store it now (the server keeps only its hash)\n")
			}
			return nil
		})
	}
}

// errPublicSecret refuses --rotate-secret for a public client.
var errPublicSecret = errors.New("a public client has no secret to rotate")

func clientUpdate(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	id := fs.String("id", "", "client `ID` to update (required)")
	var r registrationFlags
	addRegistrationFlags(fs, &r, "new `NAME` of the client")
	rotate := fs.Bool("rotate-secret", false, "replace the client's secret and print the new one")
	encKeyFile := addEncryptionKeyFlag(fs)
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "id", *id); err != nil {
			return err
		}
		given := givenFlags(fs)
		changes := false
		for _, name := range []string{"name", "scope", "grant-type", "redirect-uri", "post-logout-redirect-uri",
			"public", "auth-method", "first-party", "rotate-secret", "require-dpop", "encryption-key"} {
			changes = changes || given[name]
		}
		if !changes {
			return usagef(c, "nothing to change: give the flags to change, or --rotate-secret")
		}
		// The update function may run more than once: draw the secret it
		// may set beforehand.
		secret, hash, err := client.NewSecret()
		if err != nil {
			return err
		}
		now := e.now()
		encKey, err := e.clientEncryptionKey(*encKeyFile)
		if err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			cl, err := a.db.UpdateClient(e.context(), *id, func(old store.Client) (store.Client, error) {
				next, err := client.Update(old, r.registration(client.RegistrationOf(old), given), now)
				if err != nil {
					return store.Client{}, err
				}
				next = r.applyDPoP(next, given)
				if given["encryption-key"] {
					next.EncryptionKey = encKey
				}
				switch {
				case *rotate && next.Type == store.ClientPublic:
					return store.Client{}, errPublicSecret
				case *rotate, next.Type == store.ClientConfidential && len(next.SecretHash) == 0:
					next.SecretHash = hash
				}
				return next, nil
			})
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("no client with ID %s", safeText(*id))
			case errors.Is(err, store.ErrConflict):
				return fmt.Errorf("a client named %s already exists", safeText(*r.name))
			case err != nil:
				return err
			}
			if !bytes.Equal(cl.SecretHash, hash) {
				secret = ""
			}
			if err := printJSON(e, viewOf(cl, secret)); err != nil {
				return err
			}
			if secret != "" {
				fmt.Fprintf(e.stderr, "latch: the new secret is shown only once; store it now (the server keeps only its hash)\n")
			}
			return nil
		})
	}
}

func clientList(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			list, err := a.db.ListClients(e.context())
			if err != nil {
				return err
			}
			if *asJSON {
				rows := make([]clientView, 0, len(list))
				for _, cl := range list {
					rows = append(rows, viewOf(cl, ""))
				}
				return printJSON(e, rows)
			}
			fmt.Fprintf(e.stdout, "%-34s  %-24s  %-12s  %-20s  %-40s  %s\n", "CLIENT ID", "NAME", "TYPE", "CREATED", "GRANTS", "SCOPES")
			for _, cl := range list {
				grants := strings.Join(cl.GrantTypes, ",")
				if grants == "" {
					grants = "-"
				}
				if cl.RequireDPoP {
					grants += " (DPoP required)"
				}
				fmt.Fprintf(e.stdout, "%-34s  %-24s  %-12s  %-20s  %-40s  %s\n", safeText(cl.ID), safeText(cl.Name), safeText(cl.Type),
					cl.CreatedAt.UTC().Format(time.RFC3339), safeText(grants), safeText(strings.Join(cl.Scopes, " ")))
			}
			return nil
		})
	}
}

func clientRemove(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	id := fs.String("id", "", "client `ID` to remove (required)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "id", *id); err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			if err := a.db.DeleteClient(e.context(), *id); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no client with ID %s", safeText(*id))
				}
				return err
			}
			fmt.Fprintf(e.stdout, "removed client %s\n", safeText(*id))
			return nil
		})
	}
}

const encryptionKeyDetail = "--encryption-key FILE registers the client's public encryption key (a JWK, or a\n" +
	"PEM key: RSA for RSA-OAEP-256, EC or X25519 for ECDH-ES+A256KW unless its JWK\n" +
	"\"alg\" says otherwise). Access tokens whose audience (serve --audience) names the\n" +
	"client, by ID or by name, are then issued as nested JWTs encrypted to it, so that\n" +
	"the browser or app carrying them cannot read their claims; the client verifies them\n" +
	"with its private key (verifier.Config.DecryptionKeys). The server reads keys at most\n" +
	"once a second. Only one client named by the audience may have a key: a compact\n" +
	"JWE has one recipient, and the server refuses to issue otherwise. A private key or\n" +
	"a shared secret is refused: the server must never hold what decrypts the tokens.\n" +
	"On update, --encryption-key '' removes the key."

// addEncryptionKeyFlag defines --encryption-key.
func addEncryptionKeyFlag(fs *flag.FlagSet) *string {
	return fs.String("encryption-key", "", "the client's public encryption key `FILE` (JWK or PEM): access tokens for it are encrypted to it; '' removes it")
}

// clientEncryptionKey reads the --encryption-key file as the public JWK a
// client registers; "" (no file) is no key. A private key or a shared
// secret is refused: whoever holds it can decrypt the client's tokens, and
// the server must not.
func (e *env) clientEncryptionKey(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	key, err := e.loadEncryptionKey(file, "", "")
	if err != nil {
		return "", err
	}
	switch {
	case key.IsSymmetric():
		return "", fmt.Errorf("%s is a shared secret (%s): register a public key (RSA, EC or X25519), so that the server holds nothing that decrypts the client's tokens", keyLabel(file), key.Algorithm())
	case key.CanDecrypt():
		return "", fmt.Errorf("%s is a private key: register its public half ('latch jwe public %s'); the private key stays with the client", keyLabel(file), file)
	}
	jwk, err := key.PublicJWK()
	if err != nil {
		return "", err
	}
	if _, err := issuer.ParseClientKey(string(jwk)); err != nil {
		return "", fmt.Errorf("%s: %w", keyLabel(file), err)
	}
	return string(jwk), nil
}

// encryptionKeyView is a stored encryption key as JSON output: the JWK,
// or nothing.
func encryptionKeyView(jwk string) json.RawMessage {
	if jwk == "" || !json.Valid([]byte(jwk)) {
		return nil
	}
	return json.RawMessage(jwk)
}
