package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/store"
)

func clientCommand() *command {
	return (&command{name: "client", args: "<command> [arguments]", summary: "service credentials (OAuth clients)",
		detail: "The client commands manage the OAuth 2.0 clients that services use to authenticate\n" +
			"to the server (HTTP Basic, client_secret_basic): a resource service needs one with\n" +
			"the scope revocations:read to follow the revocation feed. They work on the data\n" +
			"directory directly; the server may be running."}).add(
		&command{name: "add", args: "--name NAME --scope SCOPE [--scope SCOPE]...", setup: clientAdd,
			summary: "register a client and print its secret once",
			detail: "add registers a client and prints its client ID and secret. The secret is\n" +
				"shown only this once: the server keeps only its SHA-256 hash. Scopes:\n" +
				"revocations:read (follow the revocation feed), introspect (RFC 7662 token\n" +
				"introspection)."},
		&command{name: "list", args: "[--json]", setup: clientList, summary: "list clients"},
		&command{name: "remove", args: "--id ID", setup: clientRemove, summary: "remove a client; its secret stops working at once"},
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

func clientAdd(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	addDataFlags(fs, &d)
	name := fs.String("name", "", "`NAME` of the client, e.g. the service's name (required)")
	var scopes listFlag
	fs.Var(&scopes, "scope", "`SCOPE` granted (repeatable or comma-separated): revocations:read, introspect")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := required(c, "name", *name); err != nil {
			return err
		}
		if len(scopes) == 0 {
			return usagef(c, "at least one --scope is required")
		}
		cl, secret, err := client.New(*name, scopes, e.now())
		if err != nil {
			return err
		}
		return withApp(c, e, fs, &d, func(a *app) error {
			if err := a.db.CreateClient(e.context(), cl); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("a client named %s already exists", safeText(cl.Name))
				}
				return err
			}
			fmt.Fprintf(e.stdout, "client_id:     %s\nclient_secret: %s\n", cl.ID, secret)
			fmt.Fprintf(e.stderr, "latch: the secret is shown only once; store it now (the server keeps only its hash)\n")
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
				type row struct {
					ID        string    `json:"client_id"`
					Name      string    `json:"name"`
					Scopes    []string  `json:"scopes"`
					CreatedAt time.Time `json:"created_at"`
				}
				rows := make([]row, 0, len(list))
				for _, cl := range list {
					rows = append(rows, row{cl.ID, cl.Name, append([]string{}, cl.Scopes...), cl.CreatedAt.UTC()})
				}
				return printJSON(e, rows)
			}
			fmt.Fprintf(e.stdout, "%-34s  %-24s  %-20s  %s\n", "CLIENT ID", "NAME", "CREATED", "SCOPES")
			for _, cl := range list {
				fmt.Fprintf(e.stdout, "%-34s  %-24s  %-20s  %s\n", cl.ID, safeText(cl.Name),
					cl.CreatedAt.UTC().Format(time.RFC3339), safeText(strings.Join(cl.Scopes, " ")))
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
