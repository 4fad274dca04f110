package main

// The script tests run the real latch binary as a subprocess, so that
// exit statuses, standard output and standard error are checked as a
// shell script sees them.
//
// A script is testdata/script/NAME.txt: commands, one per line, then the
// files it starts with, each introduced by a line "-- FILE --". Blank lines
// and lines starting with '#' are ignored. Words are separated by spaces;
// single quotes group a word ('' inside quotes is a quote). Commands run in
// a fresh directory holding the files:
//
//	exec PROG ARGS...     run PROG ("latch" is the binary under test; others
//	                      are found in $PATH); it must exit 0
//	! exec PROG ARGS...   run PROG; it must exit non-zero
//	status N              the last exec exited with status N
//	stdin FILE            the next exec reads FILE on standard input
//	stdout REGEXP         the last exec's standard output matches REGEXP
//	                      (multi-line mode: ^ and $ match at line ends)
//	! stdout REGEXP       ... does not match
//	stderr REGEXP         the same for standard error
//	cmp A B               files A and B are equal; "stdout" and "stderr"
//	                      name the last exec's output
//	cp A B                copy A (a file, "stdout" or "stderr") to file B
//	skip MESSAGE          skip the rest of the script
//
// A command may be prefixed by a condition, [exec:PROG] or [!exec:PROG],
// and then runs only when PROG is (or is not) in $PATH.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// latchBin is the binary built by TestMain.
var latchBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "latch-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	latchBin = filepath.Join(dir, "latch")
	if runtime.GOOS == "windows" {
		latchBin += ".exe"
	}
	build := exec.Command(goTool(), "build", "-o", latchBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building latch for the script tests: %v\n", err)
		return 1
	}
	return m.Run()
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "script", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/script: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			t.Parallel()
			runScript(t, file)
		})
	}
}

// script is the state of one running script.
type script struct {
	t              *testing.T
	ctx            context.Context
	dir            string
	pos            string // "file:line" of the current command
	stdin          string // file for the next exec, if any
	stdout, stderr string // of the last exec
	status         int    // of the last exec
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := &script{t: t, ctx: t.Context(), dir: t.TempDir(), status: -1}
	lines, files := splitArchive(string(data))
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s.pos = fmt.Sprintf("%s:%d", file, i+1)
		s.do(line)
	}
}

// splitArchive splits a script into its command lines and its files.
func splitArchive(data string) (lines []string, files map[string]string) {
	files = make(map[string]string)
	var name string
	for _, line := range strings.SplitAfter(data, "\n") {
		trimmed := strings.TrimRight(line, "\r\n")
		if n, ok := strings.CutPrefix(trimmed, "-- "); ok && strings.HasSuffix(n, " --") {
			name = strings.TrimSpace(strings.TrimSuffix(n, " --"))
			files[name] = ""
			continue
		}
		if name == "" {
			lines = append(lines, trimmed)
		} else {
			files[name] += line
		}
	}
	return lines, files
}

func (s *script) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%s: %s", s.pos, fmt.Sprintf(format, args...))
}

// do runs one command line.
func (s *script) do(line string) {
	s.t.Helper()
	if cond, rest, ok := strings.Cut(line, "]"); ok && strings.HasPrefix(cond, "[") {
		if !s.condition(cond[1:]) {
			return
		}
		line = strings.TrimSpace(rest)
	}
	neg := false
	if rest, ok := strings.CutPrefix(line, "! "); ok {
		neg, line = true, rest
	}
	words, err := splitWords(line)
	if err != nil || len(words) == 0 {
		s.fatalf("cannot parse %q: %v", line, err)
	}
	cmd, args := words[0], words[1:]
	switch {
	case cmd == "exec" && len(args) > 0:
		s.exec(neg, args)
	case cmd == "status" && len(args) == 1 && !neg:
		if want, err := strconv.Atoi(args[0]); err != nil || s.status != want {
			s.fatalf("%s: got exit %d, want %s\nstderr:\n%s", "status", s.status, args[0], s.stderr)
		}
	case cmd == "stdin" && len(args) == 1 && !neg:
		s.stdin = args[0]
	case (cmd == "stdout" || cmd == "stderr") && len(args) == 1:
		s.match(neg, cmd, args[0])
	case cmd == "cmp" && len(args) == 2 && !neg:
		if a, b := s.read(args[0]), s.read(args[1]); a != b {
			s.fatalf("cmp %s %s: got\n%s\nwant\n%s", args[0], args[1], a, b)
		}
	case cmd == "cp" && len(args) == 2 && !neg:
		if err := os.WriteFile(filepath.Join(s.dir, args[1]), []byte(s.read(args[0])), 0o600); err != nil {
			s.fatalf("%v", err)
		}
	case cmd == "skip" && !neg:
		s.t.Skipf("%s: %s", s.pos, strings.Join(args, " "))
	default:
		s.fatalf("unknown command or wrong arguments: %q", line)
	}
}

// condition evaluates exec:PROG or !exec:PROG.
func (s *script) condition(cond string) bool {
	want := true
	if c, ok := strings.CutPrefix(cond, "!"); ok {
		want, cond = false, c
	}
	prog, ok := strings.CutPrefix(cond, "exec:")
	if !ok {
		s.fatalf("unknown condition [%s]", cond)
	}
	_, err := exec.LookPath(prog)
	return (err == nil) == want
}

func (s *script) exec(neg bool, args []string) {
	s.t.Helper()
	prog := args[0]
	if prog == "latch" {
		prog = latchBin
	}
	cmd := exec.CommandContext(s.ctx, prog, args[1:]...)
	cmd.Dir = s.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if s.stdin != "" {
		f, err := os.Open(filepath.Join(s.dir, s.stdin))
		if err != nil {
			s.fatalf("%v", err)
		}
		defer f.Close()
		cmd.Stdin = f
		s.stdin = ""
	}
	err := cmd.Run()
	s.stdout, s.stderr, s.status = stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	if err != nil && s.status < 0 {
		s.fatalf("%s: %v", strings.Join(args, " "), err)
	}
	switch {
	case !neg && s.status != 0:
		s.fatalf("%s: got exit %d, want 0\nstderr:\n%s", strings.Join(args, " "), s.status, s.stderr)
	case neg && s.status == 0:
		s.fatalf("%s: got exit 0, want failure\nstdout:\n%s", strings.Join(args, " "), s.stdout)
	}
}

func (s *script) match(neg bool, stream, pattern string) {
	s.t.Helper()
	re, err := regexp.Compile("(?m)" + pattern)
	if err != nil {
		s.fatalf("%v", err)
	}
	text := s.stdout
	if stream == "stderr" {
		text = s.stderr
	}
	if re.MatchString(text) == neg {
		want := "a match"
		if neg {
			want = "no match"
		}
		s.fatalf("%s %s: got\n%s\nwant %s", stream, pattern, text, want)
	}
}

// read returns the content of a file, or of the last exec's output.
func (s *script) read(name string) string {
	switch name {
	case "stdout":
		return s.stdout
	case "stderr":
		return s.stderr
	}
	data, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		s.fatalf("%v", err)
	}
	return string(data)
}

// splitWords splits a line into words at spaces. Single quotes group;
// inside them, two single quotes stand for one.
func splitWords(line string) ([]string, error) {
	var (
		words         []string
		cur           strings.Builder
		inWord, quote bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case c == '\'':
			quote, inWord = !quote, true
		case !quote && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
