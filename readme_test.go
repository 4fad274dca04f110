package latch

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmePrograms is where the README's Go code lives as programs that
// build: each ```go block of README.md is one of these files, byte for
// byte, and each file is shown in the README.
const readmePrograms = "testdata/readme"

// fencedBlocks returns the contents of the fenced code blocks of a
// Markdown document whose info string is lang.
func fencedBlocks(doc, lang string) []string {
	var blocks []string
	var cur *strings.Builder
	for line := range strings.Lines(doc) {
		switch trimmed := strings.TrimRight(line, "\n"); {
		case cur == nil && trimmed == "```"+lang:
			cur = new(strings.Builder)
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return blocks
}

// TestReadmeGoCompiles checks that the README's Go code is exactly the
// code of the programs under testdata/readme, and that those build and
// pass go vet: a newcomer who pastes it gets a program that compiles.
func TestReadmeGoCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(readme), "go")
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block; this test would check nothing")
	}
	files, err := filepath.Glob(filepath.Join(readmePrograms, "*", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no programs in %s: %v", readmePrograms, err)
	}
	programs := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		programs[f] = string(data)
	}
	for i, b := range blocks {
		found := false
		for _, p := range programs {
			found = found || p == b
		}
		if !found {
			t.Errorf("README.md's ```go block %d is none of the files in %s; keep the code there and paste it into the README unchanged:\n%s", i+1, readmePrograms, b)
		}
	}
	for f, p := range programs {
		if !slices.Contains(blocks, p) {
			t.Errorf("%s is not shown in README.md as a ```go block", f)
		}
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the README's programs: %v", err)
	}
	dirs := map[string]bool{}
	for f := range programs {
		dirs["./"+filepath.ToSlash(filepath.Dir(f))] = true
	}
	for dir := range dirs {
		// go vet type-checks the program (a build) and runs the vet checks.
		out, err := exec.Command(goTool, "vet", dir).CombinedOutput()
		if err != nil {
			t.Errorf("go vet %s: %v\n%s", dir, err, out)
		}
	}
}

// TestReadmeModulePath checks that the README's go get and replace lines
// name this module.
func TestReadmeModulePath(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	path := string(m[1])
	for _, want := range []string{"go get " + path + "@", "go mod edit -replace " + path + "=", `"` + path + `/verifier"`} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not contain %q", want)
		}
	}
}
