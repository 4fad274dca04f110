package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataCommands are command lines of every command but serve that opens a
// data directory, each complete but for --data.
var dataCommands = [][]string{
	{"user", "add", "--email", "alice@example.com"},
	{"user", "passwd", "--email", "alice@example.com"},
	{"user", "disable", "--email", "alice@example.com"},
	{"user", "enable", "--email", "alice@example.com"},
	{"user", "roles", "--email", "alice@example.com", "--set", "admin"},
	{"user", "list"},
	{"keys", "list"},
	{"keys", "rotate"},
	{"keys", "retire", "--kid", "k1"},
	{"keys", "revoke", "--kid", "k1"},
	{"client", "add", "--name", "orders", "--scope", "revocations:read"},
	{"client", "update", "--id", "c_1", "--name", "orders"},
	{"client", "list"},
	{"client", "remove", "--id", "c_1"},
	{"revoke", "--sub", "u_1"},
}

// TestDataDirectoryMustExist checks that the administration commands
// refuse a data directory that does not exist, naming the path they looked
// at, and create nothing: run from the wrong directory, they used to make
// a fresh, empty one that the server never read.
func TestDataDirectoryMustExist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "latch-data")
	file := writeFile(t, dir, "file", []byte("not a directory\n"))
	for _, args := range dataCommands {
		cmd := strings.Join(args[:2], " ")
		if args[0] == "revoke" {
			cmd = "revoke"
		}
		t.Run(cmd, func(t *testing.T) {
			with := func(dataArgs ...string) []string { return append(append([]string{}, args...), dataArgs...) }
			tests := []struct {
				name string
				vars map[string]string
				args []string
				want string
			}{
				{name: "--data", args: with("--data", missing), want: "latch: error: data directory " + missing + " does not exist"},
				{name: "LATCH_DATA", vars: map[string]string{"LATCH_DATA": missing}, args: args, want: "latch: error: data directory " + missing + " does not exist"},
				{name: "a file", args: with("--data", file), want: "latch: error: data directory " + file + " is not a directory"},
			}
			for _, tt := range tests {
				r := latchEnv(t, tt.vars, tt.args...)
				if r.code != 1 || !strings.HasPrefix(r.stderr, tt.want) || r.stdout != "" {
					t.Errorf("%s: latch %s = exit %d, stdout %q, stderr %q; want exit 1 and stderr starting %q",
						tt.name, strings.Join(tt.args, " "), r.code, r.stdout, r.stderr, tt.want)
				}
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Fatalf("latch %s created %s (stat: %v), want nothing created", cmd, missing, err)
			}
		})
	}
}

// TestDataDirectoryDefaultNamed checks that the message names the default
// relative path and the absolute path it stands for, so that a command run
// from the wrong working directory says where it looked.
func TestDataDirectoryDefaultNamed(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, err := os.Getwd() // dir with symbolic links resolved, as filepath.Abs sees it
	if err != nil {
		t.Fatal(err)
	}
	r := latch(t, []byte("correct horse battery staple\n"), "user", "add", "--email", "alice@example.com", "--password-stdin")
	want := "latch: error: data directory ./latch-data (" + filepath.Join(wd, "latch-data") + ") does not exist: point --data (or LATCH_DATA) at the server's; latch serve creates it on first start\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("latch user add in an empty directory = exit %d, stderr %q; want exit 1, stderr %q", r.code, r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "latch-data")); !os.IsNotExist(err) {
		t.Errorf("latch user add created ./latch-data (stat: %v), want nothing created", err)
	}
}

// TestDataDirectoryExisting checks that an existing directory, even an
// empty one (a fresh volume), is used: the check is for a wrong path, not
// for a first run.
func TestDataDirectoryExisting(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustLatch(t, []byte("correct horse battery staple\n"), "user", "add", "--data", data, "--email", "alice@example.com", "--password-stdin")
	if out := mustLatch(t, nil, "user", "list", "--data", data); !strings.Contains(out, "alice@example.com") {
		t.Errorf("latch user list = %q, want alice", out)
	}
}

// TestDataCommandFlags checks which flags each command offers: the
// signing-key and token settings only where they are used.
func TestDataCommandFlags(t *testing.T) {
	serverOnly := []string{"--alg", "--key-rotation", "--jwks-max-age"}
	tests := []struct {
		args          []string
		want, wantNot []string
	}{
		{args: []string{"user", "add"}, want: []string{"--data", "--full-sync"}, wantNot: append(serverOnly, "--access-ttl")},
		{args: []string{"user", "list"}, want: []string{"--data"}, wantNot: append(serverOnly, "--access-ttl")},
		{args: []string{"user", "enable"}, want: []string{"--data"}, wantNot: append(serverOnly, "--access-ttl")},
		{args: []string{"user", "passwd"}, want: []string{"--data", "--access-ttl"}, wantNot: serverOnly},
		{args: []string{"user", "disable"}, want: []string{"--data", "--access-ttl"}, wantNot: serverOnly},
		{args: []string{"serve"}, want: append(serverOnly, "--data", "--access-ttl", "--full-sync")},
		{args: []string{"keys", "rotate"}, want: append(serverOnly, "--data", "--access-ttl")},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := mustLatch(t, nil, append(tt.args, "--help")...)
			for _, f := range tt.want {
				if !strings.Contains(out, "\n  "+f+" ") && !strings.Contains(out, "\n  "+f+"\n") {
					t.Errorf("latch %s --help does not list %s:\n%s", strings.Join(tt.args, " "), f, out)
				}
			}
			for _, f := range tt.wantNot {
				if strings.Contains(out, "\n  "+f) {
					t.Errorf("latch %s --help lists %s, which it does not use:\n%s", strings.Join(tt.args, " "), f, out)
				}
			}
		})
	}
}
