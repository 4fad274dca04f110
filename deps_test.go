package latch

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/latch-auth/latch"

// depsRules is the dependency policy, as go/build/deps_test.go states the
// standard library's: the import graph of latch's packages written from
// the bottom up, so that it reads as the data flow. "a, b < c, d" says
// that c and d may import a and b, and everything a and b may import.
// Every package of the module is on the right of a "<" exactly once
// ("NONE < p" for one that imports no package of latch's and no other
// module); a package may import the standard library, and only what its
// rule and the rules below it allow. Third-party modules are named by
// their module path and allow every package in them.
//
// TestDependencyRules fails on any import the rules do not allow, and on
// any package they do not list. TestDependencyPolicy checks the rules
// themselves against the policy they encode (see its comments), so that
// a relaxed rule has to answer to it.
const depsRules = `
	# Building blocks with no latch logic: strict JSON and base64url. And
	# the storage contract, the bottom of the server.
	NONE < internal/base64url, internal/strictjson, internal/store;

	# The public packages, what a resource service imports: JWS and JWK,
	# then JWT claims, then revocation events and the feed client, then
	# the verifier with its JWKS cache and middleware.
	internal/base64url, internal/strictjson
	< jose
	< jwt
	< revocation
	< verifier;

	# The storage backends implement the contract with their drivers, and
	# the conformance suite tests them. Both batch session updates through
	# the group commit queue.
	NONE < internal/store/groupcommit;
	internal/store, internal/store/groupcommit, modernc.org/sqlite < internal/store/sqlite;
	internal/store, internal/store/groupcommit, github.com/jackc/pgx/v5 < internal/store/postgres;
	internal/store < internal/store/storetest;

	# Test support, for tests only.
	NONE < internal/testclock, internal/memnet;
	jose < internal/keyring/keyringtest;

	# Server components, each over the roles of the store it uses.
	NONE < internal/web;
	golang.org/x/crypto < internal/password;
	internal/password, internal/store, golang.org/x/text < internal/login;
	internal/store < internal/session, internal/client;
	internal/store, jose < internal/keyring;
	internal/keyring, jwt < internal/issuer;
	internal/store, revocation < internal/feed;
	internal/client, internal/issuer, internal/login, internal/session
	< internal/oauth;

	# The HTTP server is the top of the server: it adapts the components
	# to the wire, and accepts tokens as the verifier does.
	internal/oauth, internal/feed, internal/web, verifier,
	github.com/prometheus/client_golang
	< internal/server;

	# The binaries wire everything, backends included; nothing imports
	# them. latch serve also tunes the garbage collector.
	NONE < internal/gctune;
	internal/server, internal/store/sqlite, internal/store/postgres, internal/gctune
	< cmd/latch;
	verifier < cmd/latchload; # a client of the server: public packages only

	# The root package is documentation; the examples use only what a
	# resource service would.
	NONE < .;
	verifier < examples/microservices;
`

// publicPackages may be imported by any Go program.
var publicPackages = []string{"jose", "jwt", "revocation", "verifier"}

// publicLeaves are the internal packages public packages may use:
// standard-library-only building blocks with no server logic.
var publicLeaves = []string{"internal/base64url", "internal/strictjson"}

// commandOnly are packages that change process-wide settings (the
// garbage collector's), for a command's main to use.
var commandOnly = []string{"internal/gctune"}

// testSupport are packages for tests only.
var testSupport = []string{"internal/store/storetest", "internal/keyring/keyringtest", "internal/testclock", "internal/memnet"}

// depsGraph is depsRules parsed: for every package on the right of a
// "<", what it may import, directly or through the rules below it.
type depsGraph struct {
	allowed map[string]map[string]bool
	order   []string        // the packages in the order the rules define them
	modules map[string]bool // the third-party modules the rules name
}

func parseDepsRules(rules string) (*depsGraph, error) {
	g := &depsGraph{allowed: map[string]map[string]bool{}, modules: map[string]bool{}}
	var text strings.Builder
	for line := range strings.Lines(rules) {
		line, _, _ = strings.Cut(line, "#")
		text.WriteString(line)
		text.WriteByte(' ')
	}
	for rule := range strings.SplitSeq(text.String(), ";") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		parts := strings.Split(rule, "<")
		if len(parts) < 2 {
			return nil, fmt.Errorf("rule %q has no <", rule)
		}
		var below []string
		for i, part := range parts {
			var list []string
			for name := range strings.SplitSeq(part, ",") {
				name = strings.TrimSpace(name)
				if name == "" || strings.ContainsAny(name, " \t\n") {
					return nil, fmt.Errorf("bad list %q in rule %q", part, rule)
				}
				list = append(list, name)
			}
			for _, p := range list {
				switch {
				case i > 0 && (p == "NONE" || isModulePath(p)):
					return nil, fmt.Errorf("%s cannot be on the right of <", p)
				case i > 0 && g.allowed[p] != nil:
					return nil, fmt.Errorf("%s is defined twice", p)
				case i > 0:
					set := map[string]bool{}
					for _, b := range below {
						set[b] = true
						for x := range g.allowed[b] {
							set[x] = true
						}
					}
					delete(set, "NONE")
					g.allowed[p] = set
					g.order = append(g.order, p)
				case p == "NONE":
				case isModulePath(p):
					g.modules[p] = true
				case g.allowed[p] == nil:
					return nil, fmt.Errorf("%s is used before it is defined", p)
				}
			}
			below = append(below, list...)
		}
	}
	return g, nil
}

// isModulePath reports whether a rule's name is a third-party module: its
// first element has a dot, as a domain does.
func isModulePath(name string) bool {
	first, _, _ := strings.Cut(name, "/")
	return first != "." && strings.Contains(first, ".")
}

// node names an import path as the rules do: a package of this module by
// its path in it ("." for the root), a third-party one by the module of
// the rules it belongs to, "" if none.
func (g *depsGraph) node(importPath string) string {
	if importPath == module {
		return "."
	}
	if rel, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return rel
	}
	best := ""
	for m := range g.modules {
		if (importPath == m || strings.HasPrefix(importPath, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best
}

func mustParseDepsRules(t *testing.T) *depsGraph {
	t.Helper()
	g, err := parseDepsRules(depsRules)
	if err != nil {
		t.Fatalf("depsRules: %v", err)
	}
	return g
}

// TestDependencyRules checks every import of every package of the module
// (tests aside) against depsRules.
func TestDependencyRules(t *testing.T) {
	g := mustParseDepsRules(t)
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	imports := map[string][]string{} // the non-standard packages and their imports
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		f := strings.Fields(line)
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	checked := map[string]bool{}
	for pkg, imps := range imports {
		if pkg != module && !strings.HasPrefix(pkg, module+"/") {
			continue
		}
		from := g.node(pkg)
		checked[from] = true
		allowed := g.allowed[from]
		if allowed == nil {
			t.Errorf("package %s is not in depsRules: add it where it belongs in the data flow", from)
			continue
		}
		for _, imp := range imps {
			if _, nonStd := imports[imp]; !nonStd {
				continue // the standard library
			}
			to := g.node(imp)
			switch {
			case to == "":
				t.Errorf("%s imports %s, of a module depsRules does not name", from, imp)
			case !allowed[to]:
				t.Errorf("%s imports %s, which depsRules does not allow", from, imp)
			}
		}
	}
	for _, p := range g.order {
		if !checked[p] {
			t.Errorf("depsRules names %s, which is not a package of the module", p)
		}
	}
}

// TestDependencyPolicy checks depsRules against the layering it is meant
// to keep, so that a rule cannot be relaxed past it unnoticed.
func TestDependencyPolicy(t *testing.T) {
	g := mustParseDepsRules(t)
	mayImport := func(p, q string) bool { return g.allowed[p][q] }

	// Public packages use the standard library, each other and the
	// public leaves only: never a server package or another module.
	for _, p := range append(slices.Clone(publicPackages), publicLeaves...) {
		for _, q := range keys(g.allowed[p]) {
			if !slices.Contains(publicPackages, q) && !slices.Contains(publicLeaves, q) {
				t.Errorf("public package %s may import %s", p, q)
			}
		}
	}
	for _, leaf := range publicLeaves {
		if len(g.allowed[leaf]) != 0 {
			t.Errorf("public leaf %s may import %v; it must use the standard library only", leaf, keys(g.allowed[leaf]))
		}
	}

	for _, p := range g.order {
		// Nothing imports a command.
		for _, q := range keys(g.allowed[p]) {
			if strings.HasPrefix(q, "cmd/") {
				t.Errorf("%s may import the command %s", p, q)
			}
		}
		// Tests alone use the test support.
		for _, q := range testSupport {
			if mayImport(p, q) {
				t.Errorf("%s may import the test support %s", p, q)
			}
		}
		// The whole store, backends and drivers, is assembled only in
		// cmd/latch.
		for _, q := range []string{"internal/store/sqlite", "internal/store/postgres", "modernc.org/sqlite", "github.com/jackc/pgx/v5"} {
			if mayImport(p, q) && p != "cmd/latch" && !strings.HasPrefix(p, "internal/store/") {
				t.Errorf("%s may import %s; only cmd/latch wires a backend", p, q)
			}
		}
		// Process-wide settings are a command's.
		for _, q := range commandOnly {
			if mayImport(p, q) && !strings.HasPrefix(p, "cmd/") {
				t.Errorf("%s may import %s, which only a command uses", p, q)
			}
		}
		// The HTTP server is the top: only a command imports it.
		if mayImport(p, "internal/server") && !strings.HasPrefix(p, "cmd/") {
			t.Errorf("%s may import internal/server, the top of the server", p)
		}
		// Examples show what a resource service imports.
		if strings.HasPrefix(p, "examples/") {
			for _, q := range keys(g.allowed[p]) {
				if !slices.Contains(publicPackages, q) && !slices.Contains(publicLeaves, q) && !isModulePath(q) {
					t.Errorf("example %s may import %s", p, q)
				}
			}
		}
	}

	// The storage contract is the bottom, and the pages are plain: both
	// use the standard library only.
	for _, p := range []string{"internal/store", "internal/web"} {
		if len(g.allowed[p]) != 0 {
			t.Errorf("%s may import %v; it must use the standard library only", p, keys(g.allowed[p]))
		}
	}
	// Every server component is below the HTTP server, but for the
	// process-wide settings only a command makes.
	for _, p := range g.order {
		if strings.HasPrefix(p, "internal/") && p != "internal/server" && !slices.Contains(commandOnly, p) &&
			!slices.Contains(testSupport, p) && !strings.HasPrefix(p, "internal/store/") && !mayImport("internal/server", p) {
			t.Errorf("internal/server may not import %s: a server component above the server?", p)
		}
	}
}

// TestDependencyRulesSyntax checks the rules' reader: allowed sets are
// transitive, and malformed rules are refused.
func TestDependencyRulesSyntax(t *testing.T) {
	g, err := parseDepsRules(`NONE < a; a < b < c; # c may import a
		b, example.com/m < d;`)
	if err != nil {
		t.Fatalf("parseDepsRules = %v", err)
	}
	tests := []struct {
		from, to string
		want     bool
	}{
		{"b", "a", true},
		{"c", "a", true},
		{"c", "b", true},
		{"d", "a", true},
		{"d", "example.com/m", true},
		{"a", "b", false},
		{"b", "c", false},
		{"d", "c", false},
	}
	for _, tt := range tests {
		if got := g.allowed[tt.from][tt.to]; got != tt.want {
			t.Errorf("rules allow %s to import %s: %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		module + "/a":       "a",
		module:              ".",
		"example.com/m/sub": "example.com/m",
		"example.com/mx":    "",
		"example.com/other": "",
	} {
		if got := g.node(in); got != want {
			t.Errorf("node(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{
		`a < b`,                // a not defined
		`NONE < a; NONE < a`,   // a defined twice
		`NONE < a b`,           // missing comma
		`NONE < a,`,            // empty name
		`a`,                    // no <
		`NONE < example.com/m`, // a module is not defined
		`NONE < a; a < NONE`,   // nor is NONE
	} {
		if _, err := parseDepsRules(bad); err == nil {
			t.Errorf("parseDepsRules(%q) = nil error, want a refusal", bad)
		}
	}
}

func keys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestPeersOnlyInInterop keeps the peer JWT libraries, used for interop
// tests and benchmarks, out of the main module.
func TestPeersOnlyInInterop(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, peer := range []string{"golang-jwt", "lestrrat-go", "go-jose", "square/go-jose"} {
		if strings.Contains(string(mod), peer) {
			t.Errorf("go.mod mentions peer %s; peers belong in interop/go.mod", peer)
		}
	}
}
