package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at for a change: on a handshake, once this long has passed
// since the last look, two stat calls.
const certCheckInterval = time.Second

// certFiles is a certificate and private key pair read from PEM files and
// read again when either file changes, so that a renewed certificate
// (certbot, cert-manager, a rotated secret) is served without a restart.
// A changed pair that does not load (unreadable, not PEM, a key that does
// not match the certificate: a renewal caught between writing the two
// files, say) is logged and the pair loaded last stays in service; it is
// tried again when the files change again.
type certFiles struct {
	certPath, keyPath string
	log               *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu        sync.Mutex // held by one check at a time; handshakes do not wait for it
	nextCheck time.Time
	loaded    [2]os.FileInfo // the files as they were when the current pair or the last failure was read
}

// loadCertFiles reads the pair; an error names what is wrong with it.
func loadCertFiles(certPath, keyPath string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath, log: log}
	stats, err := c.stat()
	if err != nil {
		return nil, err
	}
	cert, err := c.load()
	if err != nil {
		return nil, err
	}
	c.cert.Store(cert)
	c.loaded = stats
	c.nextCheck = time.Now().Add(certCheckInterval)
	return c, nil
}

// GetCertificate is tls.Config.GetCertificate: the current pair, after
// a reload if the files have changed since they were last read.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.check()
	return c.cert.Load(), nil
}

// check reloads the pair if the check interval has passed and either
// file has changed (replaced, or its size or modification time differs).
// A handshake that finds another one checking serves the current pair.
func (c *certFiles) check() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	now := time.Now()
	if now.Before(c.nextCheck) {
		return
	}
	c.nextCheck = now.Add(certCheckInterval)
	stats, err := c.stat()
	if err != nil {
		if c.loaded[0] != nil {
			c.log.Error("TLS certificate files unreadable; serving the certificate loaded before", "err", err)
			c.loaded = [2]os.FileInfo{} // log once, until the files are back
		}
		return
	}
	if c.loaded[0] != nil && sameFile(stats[0], c.loaded[0]) && sameFile(stats[1], c.loaded[1]) {
		return
	}
	c.loaded = stats
	cert, err := c.load()
	if err != nil {
		c.log.Error("reloading the TLS certificate failed; serving the certificate loaded before", "err", err)
		return
	}
	c.cert.Store(cert)
	c.log.Info("reloaded the TLS certificate", certAttrs(cert)...)
}

// stat looks at both files.
func (c *certFiles) stat() ([2]os.FileInfo, error) {
	var st [2]os.FileInfo
	for i, p := range []string{c.certPath, c.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return [2]os.FileInfo{}, fmt.Errorf("TLS certificate: %w", err)
		}
		st[i] = fi
	}
	return st, nil
}

// load reads and checks the pair: the key must match the certificate.
func (c *certFiles) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", c.certPath, c.keyPath, err)
	}
	return &cert, nil
}

// sameFile reports whether a and b describe the same file in the same
// state: same file (device and inode), size and modification time.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// certAttrs describes a certificate for the log.
func certAttrs(c *tls.Certificate) []any {
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil
		}
	}
	return []any{"subject", leaf.Subject.String(), "dns_names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC()}
}

// tlsConfig is the server's TLS configuration: TLS 1.2 or later, Go's
// default cipher suites, curves and protocol preferences (which the Go
// team keeps current: only forward-secret key exchanges, no RC4 or 3DES;
// TLS 1.3's suites are not configurable), and the certificate from files.
func tlsConfig(c *certFiles) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.GetCertificate,
	}
}
