package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert is a self-signed certificate for 127.0.0.1 and its key, PEM.
type testCert struct {
	leaf            *x509.Certificate
	certPEM, keyPEM []byte
}

func newTestCert(t *testing.T, name string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		leaf:    leaf,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// writeAtomically replaces path with data, as a renewal tool does.
func writeAtomically(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tlsGet requests url over a new TLS connection that trusts roots, and
// returns the response (body read) and the certificate the server showed.
func tlsGet(url string, roots ...*x509.Certificate) (*http.Response, *x509.Certificate, error) {
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: daemonTimeout}).Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return nil, nil, err
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, nil, errors.New("no TLS connection state")
	}
	return resp, resp.TLS.PeerCertificates[0], nil
}

// TestServeTLS serves HTTPS from a certificate and key file, replaces
// them while the server runs and checks that new connections see the new
// certificate without a restart; that a broken replacement keeps the
// certificate in service; and that a broken pair at start is an error.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	a, b := newTestCert(t, "latch a"), newTestCert(t, "latch b")
	writeAtomically(t, certPath, a.certPEM)
	writeAtomically(t, keyPath, a.keyPEM)

	d := startDaemon(t, t.TempDir(), []string{"LATCH_TLS_KEY=" + keyPath}, "--addr", "127.0.0.1:0", "--tls-cert", certPath)
	url := "https://" + d.addr
	if d.issuer != url || d.audience != url {
		t.Errorf("listening: issuer %q, audience %q, want both %q with TLS", d.issuer, d.audience, url)
	}
	resp, leaf, err := tlsGet(url+"/healthz", a.leaf)
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	if !leaf.Equal(a.leaf) || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over TLS = %d with certificate %q, want 200 with %q", resp.StatusCode, leaf.Subject, a.leaf.Subject)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("GET /healthz over TLS: Strict-Transport-Security %q, want max-age", hsts)
	}
	if resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %x, want 1.2 or later", resp.TLS.Version)
	}
	// TLS 1.1 is refused.
	conn, err := tls.Dial("tcp", d.addr, &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Errorf("TLS 1.1 handshake succeeded, want it refused")
	}
	// Plain HTTP on the TLS port gets no API response.
	if r, err := httpClient.Get("http://" + d.addr + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP GET /healthz on the TLS port = %d, want 400", r.StatusCode)
		}
	}

	// A renewal replaces both files: new connections get the new
	// certificate.
	writeAtomically(t, keyPath, b.keyPEM)
	writeAtomically(t, certPath, b.certPEM)
	waitForCert(t, url, b, a, b)
	d.waitLog("reloaded the TLS certificate")

	// A broken replacement (a key that does not match) is logged, and the
	// certificate in service stays.
	const failed = "reloading the TLS certificate failed; serving the certificate loaded before"
	before := d.countLogs(failed) // the renewal may have met the key without its certificate
	writeAtomically(t, keyPath, a.keyPEM)
	deadline := time.Now().Add(daemonTimeout)
	for {
		if d.countLogs(failed) > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error logged for a mismatched pair; stderr:\n%s", d.stderr())
		}
		if _, leaf, err := tlsGet(url+"/healthz", a.leaf, b.leaf); err != nil || !leaf.Equal(b.leaf) {
			t.Fatalf("GET /healthz after a broken replacement: %v, certificate %v; want the one in service", err, leaf)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Fixed: the new pair is served.
	writeAtomically(t, certPath, a.certPEM)
	waitForCert(t, url, a, a, b)
	d.stopGracefully()

	// A pair that does not match at start is an error before anything is
	// created.
	data := filepath.Join(t.TempDir(), "data")
	bad := filepath.Join(dir, "other.key")
	if err := os.WriteFile(bad, b.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", nil, "serve", "--data", data, "--addr", "127.0.0.1:0", "--tls-cert", certPath, "--tls-key", bad)
	if r.code != exitRejected || !strings.HasPrefix(r.stderr, "latch: error: TLS certificate "+certPath+" and key "+bad+": tls: private key does not match public key\n") {
		t.Errorf("latch serve with a mismatched pair: exit %d, stderr %q; want 1 and the reason", r.code, r.stderr)
	}
	r = cli(t, "", nil, "serve", "--data", data, "--addr", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "missing.crt"), "--tls-key", keyPath)
	if r.code != exitRejected || !strings.Contains(r.stderr, "missing.crt") {
		t.Errorf("latch serve with a missing certificate: exit %d, stderr %q; want 1 naming the file", r.code, r.stderr)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("latch serve with a bad pair: data directory %v, want none created", err)
	}
	r = cli(t, "", nil, "serve", "--data", data, "--addr", "127.0.0.1:0", "--tls-cert", certPath)
	if r.code != exitUsage || !strings.HasPrefix(r.stderr, "latch: error: --tls-cert and --tls-key go together\n") {
		t.Errorf("latch serve --tls-cert alone: exit %d, stderr %q; want 2", r.code, r.stderr)
	}
}

// waitForCert makes new connections, trusting roots, until the server
// shows want.
func waitForCert(t *testing.T, url string, want testCert, roots ...testCert) {
	t.Helper()
	var pool []*x509.Certificate
	for _, r := range roots {
		pool = append(pool, r.leaf)
	}
	deadline := time.Now().Add(daemonTimeout)
	for {
		_, leaf, err := tlsGet(url+"/healthz", pool...)
		if err != nil {
			t.Fatalf("GET /healthz over TLS while the certificate changes: %v", err)
		}
		if leaf.Equal(want.leaf) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still shows %q %v after the files changed, want %q", leaf.Subject, daemonTimeout, want.leaf.Subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countLogs counts the log records with message msg.
func (d *daemon) countLogs(msg string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, line := range d.lines {
		var l logLine
		if json.Unmarshal([]byte(line), &l) == nil && l.str("msg") == msg {
			n++
		}
	}
	return n
}
