package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is a node of the command tree: a group of subcommands, or a
// leaf that parses its own flags and runs. New commands (serve, user,
// keys list, ...) are added to rootCommand.
type command struct {
	name    string
	args    string // synopsis after the command path, e.g. "--key FILE [FILE|-]"
	summary string // one line for the parent's command list
	detail  string // paragraphs for "--help"
	parent  *command
	subs    []*command

	// setup, on a leaf, defines the flags on a fresh FlagSet and returns
	// the function that runs the command with the parsed flags and the
	// remaining arguments.
	setup func(c *command, fs *flag.FlagSet) func(e *env, args []string) error
}

// rootCommand builds the command tree.
func rootCommand() *command {
	root := &command{name: "latch", args: "<command> [arguments]",
		detail: "latch runs a JWT auth server (serve, healthcheck) and administers its data\n" +
			"directory or PostgreSQL database (user, keys list|rotate|retire|revoke,\n" +
			"client, revoke, migrate); it also generates keys and signs, verifies and\n" +
			"inspects JWS and JWT tokens."}
	root.add(serveCommand())
	root.add(healthcheckCommand())
	root.add(userCommand())
	root.add(keysCommand())
	root.add(clientCommand())
	root.add(revokeCommand())
	root.add(migrateCommand())
	root.add(jwsCommand())
	root.add(jweCommand())
	root.add(tokenCommand())
	root.add(&command{name: "version", summary: "print the version",
		setup: func(c *command, fs *flag.FlagSet) func(*env, []string) error {
			return func(e *env, args []string) error {
				if err := noArgs(c, args); err != nil {
					return err
				}
				_, err := fmt.Fprintln(e.stdout, versionString())
				return err
			}
		}})
	return root
}

func (c *command) add(subs ...*command) *command {
	for _, s := range subs {
		s.parent = c
		c.subs = append(c.subs, s)
	}
	return c
}

// path is the command as typed, e.g. "latch token sign".
func (c *command) path() string {
	if c.parent == nil {
		return c.name
	}
	return c.parent.path() + " " + c.name
}

func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// dispatch walks args down the tree from c and runs the leaf it reaches.
func (e *env) dispatch(c *command, args []string) error {
	if c.setup != nil {
		return e.runLeaf(c, args)
	}
	switch {
	case len(args) == 0:
		return usagef(c, "missing command")
	case isHelpFlag(args[0]):
		return writeHelp(e.stdout, c)
	case args[0] == "help" && c.parent == nil:
		return e.help(c, args[1:])
	}
	s := c.sub(args[0])
	if s == nil {
		if strings.HasPrefix(args[0], "-") {
			return usagef(c, "unknown flag %s", args[0])
		}
		return usagef(c, "unknown command %q", args[0])
	}
	return e.dispatch(s, args[1:])
}

// help prints the help of the command named by args ("latch help token
// sign").
func (e *env) help(c *command, args []string) error {
	for _, name := range args {
		s := c.sub(name)
		if s == nil {
			return usagef(c, "unknown command %q", name)
		}
		c = s
	}
	return writeHelp(e.stdout, c)
}

func (e *env) runLeaf(c *command, args []string) error {
	fs := newFlagSet(c)
	runFn := c.setup(c, fs)
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return writeHelp(e.stdout, c)
	case err != nil:
		return usagef(c, "%v", err)
	}
	return runFn(e, fs.Args())
}

func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.path(), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by env.main
	return fs
}

// writeUsage writes the synopsis of c and a pointer to its help.
func writeUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: %s %s\nrun '%s --help' for details\n", c.path(), c.args, c.path())
}

// writeHelp writes the full help of c: synopsis, description, and its
// subcommands or flags.
func writeHelp(w io.Writer, c *command) error {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n", c.path(), c.args)
	if c.detail != "" {
		fmt.Fprintf(&b, "\n%s\n", c.detail)
	}
	if len(c.subs) > 0 {
		b.WriteString("\ncommands:\n")
		listCommands(&b, c)
	}
	if c.setup != nil {
		fs := newFlagSet(c)
		c.setup(c, fs)
		writeFlags(&b, fs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// listCommands lists the leaves under c with their synopsis.
func listCommands(b *strings.Builder, c *command) {
	for _, s := range c.subs {
		if s.setup == nil {
			listCommands(b, s)
			continue
		}
		fmt.Fprintf(b, "  %-14s %s\n", strings.TrimPrefix(s.path(), "latch "), s.summary)
	}
}

// writeFlags lists the flags of fs in "--name VALUE" form.
func writeFlags(b *strings.Builder, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			b.WriteString("\nflags:\n")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name // boolean flags take no value
		}
		fmt.Fprintf(b, "  --%s%s\n        %s", f.Name, name, usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
}

// noArgs refuses positional arguments.
func noArgs(c *command, args []string) error {
	if len(args) > 0 {
		return usagef(c, "unexpected argument %q", truncate(args[0], 32))
	}
	return nil
}

// optionalArg returns the one optional positional argument, or "-" (read
// standard input) when there is none.
func optionalArg(c *command, args []string) (string, error) {
	switch {
	case len(args) == 0:
		return "-", nil
	case len(args) > 1:
		if strings.HasPrefix(args[1], "-") && args[1] != "-" {
			return "", usagef(c, "flag %s after an argument: flags go first", truncate(args[1], 32))
		}
		return "", usagef(c, "too many arguments")
	}
	return args[0], nil
}

// required refuses an empty value for the flag name.
func required(c *command, name, value string) error {
	if value == "" {
		return usagef(c, "--%s is required", name)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
