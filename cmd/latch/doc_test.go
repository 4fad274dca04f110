package main

import (
	"flag"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// leaves returns every runnable command under c.
func leaves(c *command) []*command {
	if c.setup != nil {
		return []*command{c}
	}
	var out []*command
	for _, s := range c.subs {
		out = append(out, leaves(s)...)
	}
	return out
}

// TestDocListsEveryCommand checks that the package documentation (go doc
// cmd/latch) shows the synopsis of every command, so that the list cannot
// fall behind the command tree again.
func TestDocListsEveryCommand(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	for _, c := range leaves(rootCommand()) {
		if !strings.Contains(doc, "\t"+c.path()+" ") && !strings.Contains(doc, "\t"+c.path()+"\n") {
			t.Errorf("main.go's doc does not list %q", c.path())
		}
	}
	// The summary, above the command list, says what latch is first.
	help := mustLatch(t, nil, "--help")
	summary, _, _ := strings.Cut(help, "\ncommands:\n")
	if !strings.Contains(summary, "auth server (serve") {
		t.Errorf("latch --help: summary %q does not mention the server", summary)
	}
}

// TestFlagUsageReadsOnce checks every flag's help line for a word said
// twice in a row, as in "--issuer URL: issuer URL URL in tokens" when a
// usage string names its placeholder and then backquotes it.
func TestFlagUsageReadsOnce(t *testing.T) {
	for _, c := range leaves(rootCommand()) {
		fs := newFlagSet(c)
		c.setup(c, fs)
		fs.VisitAll(func(f *flag.Flag) {
			_, usage := flag.UnquoteUsage(f)
			words := strings.Fields(usage)
			for i := 1; i < len(words); i++ {
				if words[i] == words[i-1] {
					t.Errorf("%s --%s: usage %q repeats %q", c.path(), f.Name, usage, words[i])
				}
			}
		})
	}
}
