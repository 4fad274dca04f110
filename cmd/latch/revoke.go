package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func revokeCommand() *command {
	return &command{name: "revoke", args: "--jti JTI | --sid SID | --sub USER_ID | --email E", setup: revoke,
		summary: "revoke access tokens now, everywhere the feed reaches",
		detail: "revoke records a revocation in the data directory; it works while the server\n" +
			"runs, which picks it up within a second and pushes it to every service following\n" +
			"the revocation feed. Give exactly one of:\n\n" +
			"  --jti JTI       one access token, by its \"jti\"\n" +
			"  --sid SID       a login session: its refresh token and every access token\n" +
			"                  carrying \"sid\": SID\n" +
			"  --sub USER_ID   a user: every access token issued until now, and every\n" +
			"  --email E       session (the user must log in again)\n\n" +
			"Signing keys are revoked with 'latch keys revoke --kid KID'."}
}

func revoke(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	jti := fs.String("jti", "", "revoke the access token with \"jti\" `JTI`")
	sid := fs.String("sid", "", "revoke session `SID` and its tokens")
	sub := fs.String("sub", "", "revoke every token and session of user `USER_ID`")
	email := fs.String("email", "", "revoke every token and session of the user with e-mail `E`")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		given := 0
		for _, v := range []string{*jti, *sid, *sub, *email} {
			if v != "" {
				given++
			}
		}
		if given != 1 {
			return usagef(c, "give exactly one of --jti, --sid, --sub and --email")
		}
		if len(*jti) > 256 || len(*sid) > 256 || len(*sub) > 256 {
			return errors.New("identifier longer than 256 bytes")
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			ctx := e.context()
			now := e.now()
			switch {
			case *jti != "":
				seq, err := a.db.AddRevocation(ctx, store.Revocation{
					Kind: store.KindToken, Subject: *jti, Reason: store.ReasonAdmin,
					At: now, Expires: now.Add(a.revocationTTL),
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked token %s (feed seq %d)\n", safeText(*jti), seq)
			case *sid != "":
				_, err := a.db.UpdateSession(ctx, *sid, func(s store.Session) (store.Session, error) {
					if s.RevokedAt.IsZero() {
						s.RevokedAt, s.RevokeReason = now, store.ReasonAdmin
					}
					return s, nil
				})
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no session %s (sessions are deleted a day after they end)", safeText(*sid))
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked session %s\n", safeText(*sid))
			default:
				id := *sub
				if *email != "" {
					u, err := findUser(e, a, *email)
					if err != nil {
						return err
					}
					id = u.ID
				}
				u, n, err := a.db.RevokeUser(ctx, id, store.ReasonAdmin, now, true, nil)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no user %s", safeText(id))
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked every token of %s (%s) issued until %s; %d session(s) ended\n",
					u.ID, safeText(u.Email), now.UTC().Format(time.RFC3339), n)
			}
			return nil
		})
	}
}

// userRoles is "latch user roles": set a user's roles and revoke the
// tokens that carry the old ones.
func userRoles(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	email := fs.String("email", "", "e-mail address `E` of the user (required)")
	var set listFlag
	fs.Var(&set, "set", "the user's new `ROLES`, comma-separated (required; \"\" for none)")
	return func(e *env, args []string) error {
		if err := userPreamble(c, args, *email); err != nil {
			return err
		}
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "set" })
		if !given {
			return usagef(c, "--set is required")
		}
		var roles roleFlag
		for _, r := range set {
			if err := roles.Set(r); err != nil {
				return fmt.Errorf("role %s: %v", safeText(r), err)
			}
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			u, err := findUser(e, a, *email)
			if err != nil {
				return err
			}
			now := e.now()
			u, _, err = a.db.RevokeUser(e.context(), u.ID, store.ReasonRoleChange, now, false, func(u store.User) (store.User, error) {
				u.Roles, u.UpdatedAt = []string(roles), now
				return u, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "roles of %s set to [%s]; tokens issued until now are revoked, sessions stay (clients refresh to get the new roles)\n",
				safeText(u.Email), safeText(roles.String()))
			return nil
		})
	}
}
