package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/store"
)

func userCommand() *command {
	return (&command{name: "user", args: "<command> [arguments]", summary: "user administration",
		detail: "The user commands work on the server's data directory (--data, LATCH_DATA),\n" +
			"or on its PostgreSQL database (--database, LATCH_DATABASE_URL), directly,\n" +
			"while the server runs too. They refuse a directory that does not exist:\n" +
			"latch serve creates it on first start."}).add(
		&command{name: "add", args: "--email E [--password-stdin] [--role R]...", setup: userAdd,
			summary: "create a user",
			detail: "add creates a user. The password is read from standard input with\n" +
				"--password-stdin (one line); otherwise a strong random password is generated\n" +
				"and printed once. A password from standard input must have 8 characters or\n" +
				"more, and be neither one of the common passwords latch knows nor the e-mail\n" +
				"address. The address is stored lower-case, in Unicode NFKC form.",
		},
		&command{name: "passwd", args: "--email E [--password-stdin]", setup: userPasswd,
			summary: "set a user's password and end their sessions",
			detail: "passwd sets a new password (from standard input with --password-stdin, or\n" +
				"generated and printed) and revokes every session of the user. The password\n" +
				"policy is that of add.",
		},
		&command{name: "disable", args: "--email E", setup: userDisable(true),
			summary: "disable a user and end their sessions"},
		&command{name: "enable", args: "--email E", setup: userDisable(false),
			summary: "enable a disabled user"},
		&command{name: "roles", args: "--email E --set ROLES", setup: userRoles,
			summary: "set a user's roles and revoke tokens with the old ones",
			detail: "roles replaces the user's roles. Access tokens carry roles, so every token\n" +
				"issued until now is revoked (the revocation feed takes that to the services\n" +
				"following it); the user's sessions stay, and the next refresh returns a token\n" +
				"with the new roles. --set \"\" removes every role.",
		},
		&command{name: "claims", args: "--email E [--set K=V,...] [--set-json K=JSON] [--unset K,...] [--clear] [--json]", setup: userClaims,
			summary: "show or change a user's custom claims",
			detail: "claims shows the user's custom claims, or changes them. Access tokens\n" +
				"carry them, as they carry roles; ID tokens and UserInfo carry them with the\n" +
				"scope profile; a client's own token never does. A change revokes every token\n" +
				"issued until now (the revocation feed takes that to the services following\n" +
				"it); sessions stay, and the next refresh returns a token with the new claims.\n\n" +
				"--set dept=sales,tier=gold sets string values (repeatable; a value with a\n" +
				"comma needs --set-json). --set-json 'limits={\"daily\":500}' sets any JSON\n" +
				"value (repeatable). --unset dept,tier removes claims; --clear removes all\n" +
				"first. Names are 1 to 64 ASCII letters, digits and _-.:/ (a URI is fine);\n" +
				"the names latch sets or that mean something to verifiers are refused:\n" +
				"  " + strings.Join(issuer.ReservedClaims(), " ") + "\n" +
				"and any name starting with latch_. At most " + strconv.Itoa(issuer.MaxCustomClaims) + " claims, a value at most\n" +
				strconv.Itoa(issuer.MaxClaimValueSize) + " bytes of JSON, all of them at most " + strconv.Itoa(issuer.MaxCustomClaimsSize) + ": tokens travel on every\n" +
				"request, and a cookie over 4096 bytes is dropped by browsers. Claims are\n" +
				"readable by whoever holds a token: never put a secret in one.",
		},
		&command{name: "list", args: "[--json]", setup: userList,
			summary: "list users"},
	)
}

// claimFlag collects K=V pairs of --set (values are strings, JSON-encoded
// here) or of --set-json (values are JSON), in order.
type claimFlag struct {
	json  bool
	pairs *[]claimPair
}

// claimPair is one claim to set.
type claimPair struct {
	name  string
	value json.RawMessage
}

func (f claimFlag) String() string { return "" }

func (f claimFlag) Set(v string) error {
	items := []string{v}
	if !f.json {
		items = strings.Split(v, ",")
	}
	for _, item := range items {
		name, value, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return fmt.Errorf("%s is not NAME=VALUE", safeText(item))
		}
		var raw json.RawMessage
		if f.json {
			var b bytes.Buffer
			if err := json.Compact(&b, []byte(value)); err != nil {
				return fmt.Errorf("claim %s: the value is not JSON: %v", safeText(name), err)
			}
			raw = b.Bytes()
		} else {
			b, err := json.Marshal(value)
			if err != nil {
				return err
			}
			raw = b
		}
		*f.pairs = append(*f.pairs, claimPair{name, raw})
	}
	return nil
}

// userClaims is "latch user claims": show a user's custom claims, or
// change them and revoke the tokens that carry the old ones.
func userClaims(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addRevocationFlags(fs, &d)
	email := fs.String("email", "", "e-mail address `E` of the user (required)")
	var set []claimPair
	fs.Var(claimFlag{pairs: &set}, "set", "set string claims `K=V,...` (repeatable)")
	fs.Var(claimFlag{json: true, pairs: &set}, "set-json", "set the claim `K=JSON` to a JSON value (repeatable)")
	var unset listFlag
	fs.Var(&unset, "unset", "remove the claims `K,...` (repeatable)")
	clearAll := fs.Bool("clear", false, "remove every claim before --set")
	asJSON := fs.Bool("json", false, "print the claims as a JSON object")
	return func(e *env, args []string) error {
		if err := userPreamble(c, args, *email); err != nil {
			return err
		}
		change := len(set) > 0 || len(unset) > 0 || *clearAll
		// The input is checked before the database is opened.
		given := map[string]json.RawMessage{}
		for _, p := range set {
			if _, dup := given[p.name]; dup {
				return usagef(c, "claim %s is set twice", safeText(p.name))
			}
			given[p.name] = p.value
		}
		for _, name := range unset {
			if _, both := given[name]; both {
				return usagef(c, "claim %s is both set and unset", safeText(name))
			}
		}
		if err := issuer.CheckClaims(given); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "issuer: "))
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			u, err := findUser(e, a, *email)
			if err != nil {
				return err
			}
			if change {
				now := e.now()
				u, _, err = a.db.RevokeUser(e.context(), u.ID, store.ReasonClaimsChange, now, false, func(u store.User) (store.User, error) {
					claims := maps.Clone(u.Claims)
					if *clearAll || claims == nil {
						claims = map[string]json.RawMessage{}
					}
					for _, name := range unset {
						delete(claims, name)
					}
					maps.Copy(claims, given)
					if err := issuer.CheckClaims(claims); err != nil {
						return store.User{}, err
					}
					u.Claims, u.UpdatedAt = claims, now
					return u, nil
				})
				if err != nil {
					return errors.New(strings.TrimPrefix(err.Error(), "issuer: "))
				}
			}
			if *asJSON {
				b, err := json.Marshal(claimsObject(u.Claims))
				if err != nil {
					return err
				}
				return writeJSON(e, b)
			}
			if change {
				fmt.Fprintf(e.stdout, "claims of %s changed; tokens issued until now are revoked, sessions stay (clients refresh to get the new claims)\n", safeText(u.Email))
			}
			if len(u.Claims) == 0 {
				fmt.Fprintf(e.stdout, "%s has no custom claims\n", safeText(u.Email))
				return nil
			}
			for _, name := range slices.Sorted(maps.Keys(u.Claims)) {
				fmt.Fprintf(e.stdout, "%s = %s\n", safeText(name), printableJSON(u.Claims[name]))
			}
			return nil
		})
	}
}

// claimsObject is claims for JSON output: an object, never null.
func claimsObject(claims map[string]json.RawMessage) map[string]json.RawMessage {
	if claims == nil {
		return map[string]json.RawMessage{}
	}
	return claims
}

// roleFlag collects repeated --role values.
type roleFlag []string

func (r *roleFlag) String() string { return strings.Join(*r, ",") }

func (r *roleFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, " \"") || len(v) > 64 || strings.ContainsFunc(v, func(c rune) bool { return !strconv.IsPrint(c) }) {
		return errors.New("a role is 1 to 64 printable characters without spaces or quotes")
	}
	*r = append(*r, v)
	return nil
}

func userAdd(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addStoreFlags(fs, &d)
	email := fs.String("email", "", "e-mail address `E` of the user (required)")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input")
	var roles roleFlag
	fs.Var(&roles, "role", "role `R` granted to the user (repeatable)")
	return func(e *env, args []string) error {
		if err := userPreamble(c, args, *email); err != nil {
			return err
		}
		addr, err := login.NormalizeEmail(*email)
		if err != nil {
			return fmt.Errorf("%q is not a valid e-mail address", *email)
		}
		pw, generated, err := newPassword(e, *stdin, addr)
		if err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			hash, err := hashPassword(e, pw)
			if err != nil {
				return err
			}
			now := e.now()
			u := store.User{ID: server.NewUserID(), Email: addr, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now}
			if err := a.db.CreateUser(e.context(), u); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("a user with e-mail %s already exists", safeText(addr))
				}
				return err
			}
			fmt.Fprintf(e.stdout, "created user %s (%s)\n", u.ID, safeText(addr))
			if generated {
				fmt.Fprintf(e.stdout, "password: %s\n", pw)
			}
			return nil
		})
	}
}

func userPasswd(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addRevocationFlags(fs, &d)
	email := fs.String("email", "", "e-mail address `E` of the user (required)")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input")
	return func(e *env, args []string) error {
		if err := userPreamble(c, args, *email); err != nil {
			return err
		}
		addr, err := login.NormalizeEmail(*email)
		if err != nil {
			return fmt.Errorf("%q is not a valid e-mail address", *email)
		}
		pw, generated, err := newPassword(e, *stdin, addr)
		if err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			u, err := findUser(e, a, *email)
			if err != nil {
				return err
			}
			hash, err := hashPassword(e, pw)
			if err != nil {
				return err
			}
			// One transaction: the new password and the end of every
			// session and access token issued with the old one.
			now := e.now()
			_, n, err := a.db.RevokeUser(e.context(), u.ID, store.ReasonPasswordChange, now, true, func(u store.User) (store.User, error) {
				u.PasswordHash, u.UpdatedAt = hash, now
				return u, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "password changed for %s; %d session(s) revoked\n", safeText(u.Email), n)
			if generated {
				fmt.Fprintf(e.stdout, "password: %s\n", pw)
			}
			return nil
		})
	}
}

func userDisable(disable bool) func(c *command, fs *flag.FlagSet) func(*env, []string) error {
	return func(c *command, fs *flag.FlagSet) func(*env, []string) error {
		var d dataFlags
		if disable {
			addRevocationFlags(fs, &d)
		} else {
			addStoreFlags(fs, &d)
		}
		email := fs.String("email", "", "e-mail address `E` of the user (required)")
		return func(e *env, args []string) error {
			if err := userPreamble(c, args, *email); err != nil {
				return err
			}
			return withApp(c, e, fs, &d, func(a *app) error {
				u, err := findUser(e, a, *email)
				if err != nil {
					return err
				}
				ctx, now := e.context(), e.now()
				setDisabled := func(u store.User) (store.User, error) {
					u.Disabled, u.UpdatedAt = disable, now
					return u, nil
				}
				if !disable {
					if _, err := a.db.UpdateUser(ctx, u.ID, setDisabled); err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "enabled %s\n", safeText(u.Email))
					return nil
				}
				// One transaction: disabled, with every session and access
				// token of the user revoked.
				_, n, err := a.db.RevokeUser(ctx, u.ID, store.ReasonDisabled, now, true, setDisabled)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "disabled %s; %d session(s) revoked\n", safeText(u.Email), n)
				return nil
			})
		}
	}
}

func userList(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addStoreFlags(fs, &d)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			users, err := a.db.ListUsers(e.context())
			if err != nil {
				return err
			}
			if *asJSON {
				type row struct {
					ID        string                     `json:"id"`
					Email     string                     `json:"email"`
					Roles     []string                   `json:"roles"`
					Claims    map[string]json.RawMessage `json:"claims"`
					Disabled  bool                       `json:"disabled"`
					CreatedAt time.Time                  `json:"created_at"`
				}
				rows := make([]row, 0, len(users))
				for _, u := range users {
					rows = append(rows, row{u.ID, u.Email, append([]string{}, u.Roles...), claimsObject(u.Claims), u.Disabled, u.CreatedAt.UTC()})
				}
				b, err := json.Marshal(rows)
				if err != nil {
					return err
				}
				return writeJSON(e, b)
			}
			fmt.Fprintf(e.stdout, "%-34s  %-32s  %-8s  %s\n", "ID", "EMAIL", "STATUS", "ROLES")
			for _, u := range users {
				status := "active"
				if u.Disabled {
					status = "disabled"
				}
				fmt.Fprintf(e.stdout, "%-34s  %-32s  %-8s  %s\n", safeText(u.ID), safeText(u.Email), status, safeText(strings.Join(u.Roles, ",")))
			}
			return nil
		})
	}
}

// userPreamble checks what every user command needs.
func userPreamble(c *command, args []string, email string) error {
	if err := noArgs(c, args); err != nil {
		return err
	}
	return required(c, "email", email)
}

func findUser(e *env, a *app, email string) (store.User, error) {
	addr, err := login.NormalizeEmail(email)
	if err != nil {
		return store.User{}, fmt.Errorf("%q is not a valid e-mail address", email)
	}
	u, err := a.db.UserByEmail(e.context(), addr)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("no user with e-mail %s", addr)
	}
	return u, err
}

// newPassword reads the password from standard input and checks it
// against the policy (email is the account's address, which the password
// must not be), or generates one.
func newPassword(e *env, fromStdin bool, email string) (pw string, generated bool, err error) {
	if !fromStdin {
		var b [18]byte
		rand.Read(b[:])
		return strings.NewReplacer("+", "-", "/", "_").Replace(fmt.Sprintf("%x", b[:])), true, nil
	}
	data, err := e.readInput("-", "password", password.MaxBytes+2)
	if err != nil {
		return "", false, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	pw = strings.TrimSuffix(line, "\r")
	if pw == "" {
		return "", false, errors.New("no password on standard input")
	}
	if err := password.CheckPolicy(pw, email); err != nil {
		return "", false, err
	}
	return pw, false, nil
}

func hashPassword(e *env, pw string) (string, error) {
	h, err := password.New(password.Params{}, 1)
	if err != nil {
		return "", err
	}
	return h.Hash(e.context(), pw)
}
