package main

import (
	"math"
	"strings"
	"testing"
)

func TestByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    byteSize
		wantStr string
		wantErr bool
	}{
		{in: "0", want: 0, wantStr: "0"},
		{in: "1000", want: 1000, wantStr: "1000B"},
		{in: "1024B", want: 1024, wantStr: "1KiB"},
		{in: "512MiB", want: 512 << 20, wantStr: "512MiB"},
		{in: "1536MiB", want: 1536 << 20, wantStr: "1536MiB"},
		{in: "2GiB", want: 2 << 30, wantStr: "2GiB"},
		{in: "3TiB", want: 3 << 40, wantStr: "3TiB"},
		{in: "8388607TiB", want: 8388607 << 40, wantStr: "8388607TiB"},
		{in: "8388608TiB", wantErr: true}, // 8 EiB: over math.MaxInt64
		{in: "", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "-1GiB", wantErr: true},
		{in: "+1GiB", wantErr: true},
		{in: "1.5GiB", wantErr: true},
		{in: "512mib", wantErr: true},
		{in: "512M", wantErr: true},
		{in: "512 MiB", wantErr: true},
		{in: "lots", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b byteSize
			err := b.Set(tt.in)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "is not a size") {
					t.Errorf("Set(%q) = %v (%d), want a \"not a size\" error", tt.in, err, b)
				}
				return
			}
			if err != nil || b != tt.want {
				t.Fatalf("Set(%q) = %d, %v; want %d", tt.in, b, err, tt.want)
			}
			if got := b.String(); got != tt.wantStr {
				t.Errorf("byteSize(%d).String() = %q, want %q", b, got, tt.wantStr)
			}
		})
	}
	if got := byteSize(math.MaxInt64).String(); got != "off" {
		t.Errorf("byteSize(math.MaxInt64).String() = %q, want \"off\"", got)
	}
}

// TestServeMemoryLimit checks the soft memory limit the server's runtime
// reports, as logged at start: none by default, GOMEMLIMIT left alone when
// set, --memory-limit over it.
func TestServeMemoryLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        []string
		args       []string
		wantLimit  string
		wantSource string
	}{
		{
			name: "none by default", args: []string{"--hash-workers", "3"},
			wantLimit: "off", wantSource: "none",
		},
		{
			name: "GOMEMLIMIT respected", env: []string{"GOMEMLIMIT=300MiB"}, args: []string{"--hash-workers", "3"},
			wantLimit: "300MiB", wantSource: "GOMEMLIMIT",
		},
		{
			name: "GOMEMLIMIT=off respected", env: []string{"GOMEMLIMIT=off"},
			wantLimit: "off", wantSource: "GOMEMLIMIT",
		},
		{
			name: "flag over GOMEMLIMIT", env: []string{"GOMEMLIMIT=300MiB", "LATCH_MEMORY_LIMIT=2GiB"}, args: []string{"--memory-limit", "1GiB"},
			wantLimit: "1GiB", wantSource: "--memory-limit",
		},
		{
			name: "variable", env: []string{"LATCH_MEMORY_LIMIT=2GiB"},
			wantLimit: "2GiB", wantSource: "--memory-limit",
		},
		{
			name: "exactly the hash workers' memory", args: []string{"--hash-workers", "2", "--memory-limit", "38MiB"},
			wantLimit: "38MiB", wantSource: "--memory-limit",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// An empty GOMEMLIMIT is no limit to the runtime and to latch:
			// the test's own environment does not leak in.
			env := append([]string{"GOMEMLIMIT="}, tt.env...)
			d := startDaemon(t, t.TempDir(), env, append([]string{"--addr", "127.0.0.1:0"}, tt.args...)...)
			l := d.waitLog("memory limit")
			if l.str("limit") != tt.wantLimit || l.str("source") != tt.wantSource {
				t.Errorf("latch serve %s (env %s): memory limit %q from %q, want %q from %q",
					strings.Join(tt.args, " "), strings.Join(tt.env, " "), l.str("limit"), l.str("source"), tt.wantLimit, tt.wantSource)
			}
			d.stopGracefully()
		})
	}
}

func TestServeMemoryLimitUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
	}{
		{
			name: "below the hashing memory", args: []string{"--hash-workers", "2", "--memory-limit", "32MiB"},
			wantErr: "latch: error: --memory-limit 32MiB is below the 38MiB the password hash workers use: raise it or lower --hash-workers\n",
		},
		{
			name: "not a size", args: []string{"--memory-limit", "1.5GiB"},
			wantErr: `latch: error: invalid value "1.5GiB" for flag -memory-limit: "1.5GiB" is not a size: want an integer with an optional unit B, KiB, MiB, GiB or TiB, such as 512MiB` + "\n",
		},
		{
			name: "negative", args: []string{"--memory-limit", "-1GiB"},
			wantErr: `latch: error: invalid value "-1GiB" for flag -memory-limit: "-1GiB" is not a size`,
		},
		{
			name: "variable not a size", env: []string{"LATCH_MEMORY_LIMIT=lots"},
			wantErr: `latch: error: LATCH_MEMORY_LIMIT="lots": "lots" is not a size`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, "", tt.env, append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, tt.args...)...)
			if r.code != exitUsage || !strings.HasPrefix(r.stderr, tt.wantErr) || !strings.Contains(r.stderr, "usage: latch serve [flags]") || r.stdout != "" {
				t.Errorf("latch serve %s (env %s): exit %d, stdout %q, stderr %q; want exit 2, %q and the usage",
					strings.Join(tt.args, " "), strings.Join(tt.env, " "), r.code, r.stdout, r.stderr, tt.wantErr)
			}
		})
	}
}

func TestGCFloor(t *testing.T) {
	noEnv := &env{getenv: func(string) string { return "" }}
	tests := []struct {
		name   string
		e      *env
		limit  byteSize
		want   byteSize
		wantOK bool
	}{
		{"no limit", noEnv, math.MaxInt64, defaultGCFloor, true},
		{"a large limit", noEnv, 1 << 30, defaultGCFloor, true},
		{"a limit under four floors: a quarter of it", noEnv, 64 << 20, 16 << 20, true},
		{"GOGC set: the operator's", &env{getenv: func(k string) string {
			if k == "GOGC" {
				return "200"
			}
			return ""
		}}, math.MaxInt64, 0, false},
	}
	for _, tt := range tests {
		got, ok := gcFloor(tt.e, tt.limit)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: gcFloor(limit %v) = %v, %v, want %v, %v", tt.name, tt.limit, got, ok, tt.want, tt.wantOK)
		}
	}
}
