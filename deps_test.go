package latch

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// publicPackages may be imported by any Go program; they must stay free of
// latch's server code and of third-party modules.
var publicPackages = []string{"jose", "jwt", "revocation", "verifier"}

// publicLeaves are internal packages that public packages may use: they are
// standard-library-only building blocks with no server logic.
var publicLeaves = map[string]bool{
	"github.com/latch-auth/latch/internal/strictjson": true,
	"github.com/latch-auth/latch/internal/base64url":  true,
}

const module = "github.com/latch-auth/latch"

// TestLayering enforces the dependency policy: a public package imports only
// the standard library, latch's public packages and publicLeaves.
func TestLayering(t *testing.T) {
	for _, pkg := range publicPackages {
		t.Run(pkg, func(t *testing.T) {
			for _, dep := range deps(t, "./"+pkg) {
				path, std := dep[0], dep[1] == "true"
				switch {
				case std:
				case publicLeaves[path]:
				case strings.HasPrefix(path, module+"/internal/"):
					t.Errorf("public package %s imports %s", pkg, path)
				case path == module || strings.HasPrefix(path, module+"/"):
				default:
					t.Errorf("public package %s imports non-standard module package %s", pkg, path)
				}
			}
		})
	}
	for leaf := range publicLeaves {
		t.Run(leaf, func(t *testing.T) {
			for _, dep := range deps(t, leaf) {
				if dep[1] != "true" && dep[0] != leaf {
					t.Errorf("%s imports non-standard package %s", leaf, dep[0])
				}
			}
		})
	}
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

// deps lists the transitive imports of pkg as [import path, "true"|"false"
// for standard].
func deps(t *testing.T, pkg string) [][2]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var res [][2]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			res = append(res, [2]string{f[0], f[1]})
		}
	}
	if len(res) == 0 {
		t.Fatalf("go list -deps %s: no packages", pkg)
	}
	return res
}
