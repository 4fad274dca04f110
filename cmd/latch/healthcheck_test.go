package main

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// latchEnv runs args in-process with the LATCH_* variables vars.
func latchEnv(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{ctx: t.Context(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		now: time.Now, getenv: func(k string) string { return vars[k] }}
	code := e.main(args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func TestReadyURL(t *testing.T) {
	tests := []struct {
		name, addr, url string
		https           bool
		want            string // "" for an error
	}{
		{name: "loopback", addr: "127.0.0.1:8080", want: "http://127.0.0.1:8080/readyz"},
		{name: "any IPv4", addr: "0.0.0.0:8080", want: "http://127.0.0.1:8080/readyz"},
		{name: "no host", addr: ":9000", want: "http://127.0.0.1:9000/readyz"},
		{name: "any IPv6", addr: "[::]:8080", want: "http://[::1]:8080/readyz"},
		{name: "name", addr: "auth.internal:443", https: true, want: "https://auth.internal:443/readyz"},
		{name: "url wins", addr: "nonsense", url: "https://auth.example.com/readyz", want: "https://auth.example.com/readyz"},
		{name: "no port", addr: "127.0.0.1", want: ""},
		{name: "not http", url: "ftp://auth.example.com/readyz", want: ""},
		{name: "no host in url", url: "http:///readyz", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readyURL(tt.addr, tt.url, tt.https)
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Errorf("readyURL(%q, %q, %v) = %q, %v; want %q", tt.addr, tt.url, tt.https, got, err, tt.want)
			}
		})
	}
}

// TestHealthcheck checks the exit statuses: 0 only for 200 OK from
// /readyz, 1 for any other answer or none, 2 for a wrong command line.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			if code == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", code)
				return
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	ready, draining, redirect := status(http.StatusOK), status(http.StatusServiceUnavailable), status(http.StatusFound)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := closed.Listener.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		vars   map[string]string
		args   []string
		code   int
		stderr string // a substring; "" for no output
	}{
		{name: "ready", args: []string{"--addr", ready}, code: 0},
		{name: "ready from LATCH_ADDR", vars: map[string]string{"LATCH_ADDR": ready}, code: 0},
		{name: "flag wins over LATCH_ADDR", vars: map[string]string{"LATCH_ADDR": draining}, args: []string{"--addr", ready}, code: 0},
		{name: "url", args: []string{"--url", "http://" + ready + "/readyz"}, code: 0},
		{name: "not ready", args: []string{"--addr", draining}, code: 1, stderr: "latch: error: not ready: GET http://" + draining + "/readyz: 503 Service Unavailable\n"},
		{name: "redirect", args: []string{"--addr", redirect}, code: 1, stderr: "302 Found"},
		{name: "nothing listening", args: []string{"--addr", closedAddr}, code: 1, stderr: "latch: error: not ready: "},
		{name: "wrong path", args: []string{"--url", "http://" + ready + "/other"}, code: 1, stderr: "404 Not Found"},
		{name: "bad addr", args: []string{"--addr", "8080"}, code: 2, stderr: `--addr "8080" is not HOST:PORT`},
		{name: "bad url", args: []string{"--url", "localhost:8080/readyz"}, code: 2, stderr: "is not an http or https URL"},
		{name: "bad LATCH_ADDR", vars: map[string]string{"LATCH_ADDR": "nonsense"}, code: 2, stderr: "is not HOST:PORT"},
		{name: "argument", args: []string{"--addr", ready, "now"}, code: 2, stderr: `unexpected argument "now"`},
		{name: "timeout", args: []string{"--addr", ready, "--timeout", "0s"}, code: 2, stderr: "--timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latchEnv(t, tt.vars, append([]string{"healthcheck"}, tt.args...)...)
			if r.code != tt.code || r.stdout != "" || !strings.Contains(r.stderr, tt.stderr) || (tt.stderr == "") != (r.stderr == "") {
				t.Errorf("latch healthcheck %s = exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q",
					strings.Join(tt.args, " "), r.code, r.stdout, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestHealthcheckTLS checks --tls-cert (and LATCH_TLS_CERT): HTTPS to the
// server whose certificate is the one in the file, and no other.
func TestHealthcheckTLS(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewTLSServer(ok)
	defer srv.Close()
	plain := httptest.NewServer(ok)
	defer plain.Close()

	dir := t.TempDir()
	srvCert := writeFile(t, dir, "srv.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	otherCert := writeFile(t, dir, "other.pem", newTestCert(t, "other").certPEM)
	notPEM := writeFile(t, dir, "not.pem", []byte("hello\n"))
	addr := srv.Listener.Addr().String()

	tests := []struct {
		name   string
		vars   map[string]string
		args   []string
		code   int
		stderr string
	}{
		{name: "its certificate", args: []string{"--addr", addr, "--tls-cert", srvCert}, code: 0},
		{name: "LATCH_TLS_CERT", vars: map[string]string{"LATCH_ADDR": addr, "LATCH_TLS_CERT": srvCert}, code: 0},
		{name: "another certificate", args: []string{"--addr", addr, "--tls-cert", otherCert}, code: 1, stderr: "not the one in --tls-cert"},
		{name: "no --tls-cert: plain HTTP to a TLS port", args: []string{"--addr", addr}, code: 1, stderr: "400 Bad Request"},
		{name: "system roots refuse a self-signed certificate", args: []string{"--url", srv.URL + "/readyz"}, code: 1, stderr: "certificate"},
		{name: "TLS to a plain port", args: []string{"--addr", plain.Listener.Addr().String(), "--tls-cert", srvCert}, code: 1, stderr: "not ready"},
		{name: "not PEM", args: []string{"--addr", addr, "--tls-cert", notPEM}, code: 1, stderr: "holds no PEM certificate"},
		{name: "missing file", args: []string{"--addr", addr, "--tls-cert", filepath.Join(dir, "none.pem")}, code: 1, stderr: "none.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latchEnv(t, tt.vars, append([]string{"healthcheck"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || (tt.stderr == "") != (r.stderr == "") {
				t.Errorf("latch healthcheck %s = exit %d, stderr %q; want exit %d, stderr with %q",
					strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestHealthcheckAgainstTLSServer runs the binary with the environment
// of a container whose server speaks HTTPS: LATCH_ADDR and LATCH_TLS_CERT
// are all it needs.
func TestHealthcheckAgainstTLSServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert := newTestCert(t, "auth.example.com")
	certPath, keyPath := writeFile(t, dir, "tls.crt", cert.certPEM), writeFile(t, dir, "tls.key", cert.keyPEM)
	vars := []string{"LATCH_TLS_CERT=" + certPath, "LATCH_TLS_KEY=" + keyPath}
	d := startDaemon(t, t.TempDir(), vars, "--addr", "127.0.0.1:0")
	if r := cli(t, "", append(vars, "LATCH_ADDR="+d.addr), "healthcheck"); r.code != 0 || r.stderr != "" {
		t.Errorf("latch healthcheck with LATCH_ADDR and LATCH_TLS_CERT = exit %d, stderr %q; want exit 0 and no output", r.code, r.stderr)
	}
}

// TestHealthcheckAgainstServer runs the binary against a real "latch
// serve" (on a data directory serve creates): ready while it serves,
// not ready from SIGTERM on, through the drain period.
func TestHealthcheckAgainstServer(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "new")
	d := startDaemon(t, data, []string{"LATCH_DRAIN_PERIOD=20s"}, "--addr", "127.0.0.1:0")
	if fi, err := os.Stat(data); err != nil || !fi.IsDir() {
		t.Fatalf("latch serve --data %s: stat = %v, want the directory created", data, err)
	}
	if r := cli(t, "", []string{"LATCH_ADDR=" + d.addr}, "healthcheck"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("LATCH_ADDR=%s latch healthcheck = exit %d, stdout %q, stderr %q; want exit 0 and no output", d.addr, r.code, r.stdout, r.stderr)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	d.waitLog("draining: /readyz answers 503, requests are still served")
	r := cli(t, "", nil, "healthcheck", "--addr", d.addr)
	if r.code != 1 || !strings.Contains(r.stderr, "503 Service Unavailable") {
		t.Errorf("latch healthcheck --addr %s while draining = exit %d, stderr %q; want exit 1 and 503", d.addr, r.code, r.stderr)
	}
}
