package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile splits a Dockerfile into its stages' instructions.
func parseDockerfile(t *testing.T, data string) [][]instruction {
	t.Helper()
	var stages [][]instruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	for line := range strings.Lines(data) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

// execForm decodes an instruction's JSON (exec form) argument list:
// exec form runs without a shell, which the final image does not have.
func execForm(t *testing.T, in instruction, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("Dockerfile: %s %s is not in exec form (a JSON array): %v", in.cmd, args, err)
	}
	return argv
}

// parses checks that args is a command line latch accepts: it names a
// command and its flags parse. Nothing runs.
func parses(args []string) error {
	c := rootCommand()
	for c.setup == nil {
		if len(args) == 0 {
			return errors.New("no command")
		}
		if c = c.sub(args[0]); c == nil {
			return errors.New("unknown command " + args[0])
		}
		args = args[1:]
	}
	fs := newFlagSet(c)
	c.setup(c, fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("unexpected arguments")
	}
	return nil
}

// TestDockerfile checks the invariants of the container image, which no
// container engine builds here: a static build of this command, a final
// stage without a shell or root, a volume and port that are the ones the
// server is told to use, and a health check that is a real latch command.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, final)", len(stages))
	}
	build, final := stages[0], stages[1]

	// The build: this package, static, reproducible paths, stripped.
	var binary string
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w`, " ./cmd/latch"} {
				if !strings.Contains(in.args, want) {
					t.Errorf("Dockerfile: RUN %s: want %q", in.args, want)
				}
			}
			if _, out, ok := strings.Cut(in.args, " -o "); ok {
				binary = strings.Fields(out)[0]
			}
		}
	}
	if binary == "" {
		t.Fatal("Dockerfile: no RUN ... go build -o BINARY in the build stage")
	}
	if fi, err := os.Stat(filepath.Join("..", "..", "cmd", "latch", "main.go")); err != nil || fi.IsDir() {
		t.Errorf("Dockerfile builds ./cmd/latch, but cmd/latch/main.go: %v", err)
	}

	// The final stage.
	from := strings.Fields(final[0].args)[0]
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("Dockerfile: final stage FROM %s, want distroless/static or scratch", from)
	}
	var installed, user, volume, expose string
	var healthcheck, entrypoint, cmd []string
	envs := map[string]string{}
	for _, in := range final[1:] {
		switch in.cmd {
		case "RUN":
			t.Errorf("Dockerfile: RUN %s in the final stage, which has no shell", in.args)
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) >= 3 && f[0] == "--from=build" && f[1] == binary {
				installed = f[2]
			}
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "EXPOSE":
			expose = in.args
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				envs[k] = v
			}
		case "HEALTHCHECK":
			_, argv, ok := strings.Cut(in.args, "CMD ")
			if !ok {
				t.Fatalf("Dockerfile: HEALTHCHECK %s has no CMD", in.args)
			}
			healthcheck = execForm(t, in, argv)
		case "ENTRYPOINT":
			entrypoint = execForm(t, in, in.args)
		case "CMD":
			cmd = execForm(t, in, in.args)
		}
	}
	if installed == "" {
		t.Fatalf("Dockerfile: the final stage does not COPY --from=build %s", binary)
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("Dockerfile: USER %q, want a numeric non-root user (Kubernetes' runAsNonRoot checks the number)", user)
	}
	if volume == "" || envs["LATCH_DATA"] != volume {
		t.Errorf("Dockerfile: VOLUME %q, LATCH_DATA %q; want the data directory on the volume", volume, envs["LATCH_DATA"])
	}
	if _, port, err := net.SplitHostPort(envs["LATCH_ADDR"]); err != nil || port != expose {
		t.Errorf("Dockerfile: LATCH_ADDR %q, EXPOSE %q; want the server listening on the exposed port", envs["LATCH_ADDR"], expose)
	}
	if host, _, _ := net.SplitHostPort(envs["LATCH_ADDR"]); host != "0.0.0.0" && host != "" {
		t.Errorf("Dockerfile: LATCH_ADDR %q listens on one host only; want all interfaces in a container", envs["LATCH_ADDR"])
	}
	if !slices.Equal(entrypoint, []string{installed}) {
		t.Errorf("Dockerfile: ENTRYPOINT %q, want [%q]", entrypoint, installed)
	}
	if !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("Dockerfile: CMD %q, want [\"serve\"] (its settings come from ENV)", cmd)
	}
	if len(healthcheck) < 2 || healthcheck[0] != installed || healthcheck[1] != "healthcheck" {
		t.Errorf("Dockerfile: HEALTHCHECK CMD %q, want %s healthcheck ...", healthcheck, installed)
	} else if err := parses(healthcheck[1:]); err != nil {
		t.Errorf("Dockerfile: HEALTHCHECK CMD %q: latch refuses it: %v", healthcheck, err)
	}
	if err := parses(cmd); err != nil {
		t.Errorf("Dockerfile: CMD %q: latch refuses it: %v", cmd, err)
	}
	for k, v := range envs {
		if err := parses([]string{"serve", "--" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "LATCH_"), "_", "-")), v}); err != nil {
			t.Errorf("Dockerfile: ENV %s=%s is no flag of latch serve: %v", k, v, err)
		}
	}

	ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "**/latch-data"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}
