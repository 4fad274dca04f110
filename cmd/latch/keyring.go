package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
)

// ringCommands are the "keys" commands that manage the server's signing
// keys in a data directory (as opposed to key files).
func ringCommands() []*command {
	return []*command{
		{name: "list", args: "[--json]", setup: keysList,
			summary: "list the server's signing keys",
			detail: "list shows the signing keys in the data directory with their state:\n" +
				"pending (published, not yet signing), signing, active, retired (published\n" +
				"until its tokens expire) or expired (removed at the next maintenance), and\n" +
				"their use: access (access tokens) or id_token (OpenID Connect ID tokens, always\n" +
				"RS256); with --alg RS256 one key has both."},
		{name: "rotate", args: "[--now]", setup: keysRotate,
			summary: "create the next signing key",
			detail: "rotate creates a new signing key, and a new ID-token key unless one RS256 key\n" +
				"signs both. Each is published at once and starts signing after the JWKS\n" +
				"max-age (plus a minute), when the current key of its use retires, so no\n" +
				"verifier sees an unknown key. --now makes them sign immediately, for a\n" +
				"compromised key; verifiers then refetch the JWKS on the unknown kid."},
		{name: "retire", args: "--kid KID | KID", setup: keysRetire,
			summary: "stop a signing key",
			detail: "retire stops key KID from signing now; it stays published until every token\n" +
				"it signed has expired. The only active key cannot be retired: rotate first.\n" +
				"Key IDs are base64url and may start with \"-\": give those with --kid (or\n" +
				"after \"--\")."},
		{name: "revoke", args: "--kid KID | KID", setup: keysRevoke,
			summary: "revoke a compromised signing key now",
			detail: "revoke is for a key that is compromised: the key leaves the JWKS at once and\n" +
				"the revocation feed tells every following service to refuse the tokens it\n" +
				"signed, instead of waiting for them to expire as retire does. If no other key\n" +
				"of its use would sign, a new key is created and signs immediately. A running\n" +
				"server picks the change up within a second."},
	}
}

func keysRevoke(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	kid := fs.String("kid", "", "ID `KID` of the key to revoke")
	return func(e *env, args []string) error {
		if *kid != "" {
			args = append([]string{*kid}, args...)
		}
		if len(args) != 1 {
			return usagef(c, "want exactly one key ID")
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			repl, err := a.ring.Revoke(e.context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "revoked key %s\n", safeText(args[0]))
			if repl.ID != "" {
				fmt.Fprintf(e.stdout, "created key %s (%s)%s; it signs now\n", repl.ID, repl.Algorithm, forIDTokens(a, repl))
			}
			return nil
		})
	}
}

func keysList(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			keys, err := a.ring.List(e.context())
			if err != nil {
				return err
			}
			if *asJSON {
				type row struct {
					ID         string     `json:"kid"`
					Algorithm  string     `json:"alg"`
					State      string     `json:"state"`
					CreatedAt  time.Time  `json:"created_at"`
					ActivateAt time.Time  `json:"activate_at"`
					RetireAt   *time.Time `json:"retire_at,omitempty"`
					RemoveAt   *time.Time `json:"remove_at,omitempty"`
					Use        []string   `json:"use"`
				}
				rows := make([]row, 0, len(keys))
				for _, k := range keys {
					rows = append(rows, row{k.ID, k.Algorithm, k.State, k.CreatedAt.UTC(), k.ActivateAt.UTC(), optTime(k.RetireAt), optTime(k.RemoveAt), k.Uses})
				}
				return printJSON(e, rows)
			}
			fmt.Fprintf(e.stdout, "%-44s  %-5s  %-8s  %-20s  %-20s  %s\n", "KID", "ALG", "STATE", "SIGNS FROM", "RETIRES", "USE")
			for _, k := range keys {
				retire := "-"
				if !k.RetireAt.IsZero() {
					retire = k.RetireAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(e.stdout, "%-44s  %-5s  %-8s  %-20s  %-20s  %s\n", k.ID, k.Algorithm, k.State, k.ActivateAt.UTC().Format(time.RFC3339), retire, strings.Join(k.Uses, ","))
			}
			return nil
		})
	}
}

// forIDTokens returns " for ID tokens" for a key that signs only ID
// tokens, so that the lines about access-token keys read as before.
func forIDTokens(a *app, k store.SigningKey) string {
	if slices.Contains(a.ring.Uses(k), keyring.UseAccess) {
		return ""
	}
	return " for ID tokens"
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func keysRotate(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	now := fs.Bool("now", false, "sign with the new key immediately (compromised key)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			ks, err := a.ring.RotateKeys(e.context(), *now)
			if err != nil {
				return err
			}
			for _, k := range ks {
				fmt.Fprintf(e.stdout, "created key %s (%s)%s; it signs from %s\n", k.ID, k.Algorithm, forIDTokens(a, k), k.ActivateAt.UTC().Format(time.RFC3339))
			}
			return nil
		})
	}
}

func keysRetire(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	kid := fs.String("kid", "", "ID `KID` of the key to retire")
	return func(e *env, args []string) error {
		if *kid != "" {
			args = append([]string{*kid}, args...)
		}
		if len(args) != 1 {
			return usagef(c, "want exactly one key ID")
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			if err := a.ring.Retire(e.context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "retired key %s\n", args[0])
			return nil
		})
	}
}
