package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func healthcheckCommand() *command {
	return &command{name: "healthcheck", args: "[--addr HOST:PORT | --url URL] [--tls-cert FILE] [--timeout D]",
		setup: healthcheck, summary: "check that a running server is ready",
		detail: "healthcheck asks the server at --addr (the address serve listens on, read\n" +
			"from the same LATCH_ADDR) for GET /readyz and exits 0 when it answers 200 OK,\n" +
			"1 otherwise, with the reason on standard error. An unspecified host\n" +
			"(0.0.0.0, [::] or none) is asked on the loopback address. It needs no shell\n" +
			"or curl: it is the HEALTHCHECK of the container image.\n\n" +
			"With --tls-cert (LATCH_TLS_CERT, like serve) it speaks HTTPS and accepts only\n" +
			"the certificate in FILE, whatever names it holds: the one the server serves.\n" +
			"--url asks another URL instead, verified against the system's roots unless\n" +
			"--tls-cert is given.",
	}
}

func healthcheck(c *command, fs *flag.FlagSet) func(*env, []string) error {
	addr := fs.String("addr", defaultAddr, "the server's listen address `HOST:PORT` (env LATCH_ADDR)")
	rawURL := fs.String("url", "", "check `URL` instead of http://ADDR/readyz")
	certFile := fs.String("tls-cert", "", "use HTTPS and trust only the server certificate in `FILE` (env LATCH_TLS_CERT)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after `D`")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := applyEnv(c, e, fs); err != nil {
			return err
		}
		if *timeout <= 0 {
			return usagef(c, "--timeout must be positive")
		}
		target, err := readyURL(*addr, *rawURL, *certFile != "")
		if err != nil {
			return usagef(c, "%v", err)
		}
		client := &http.Client{
			Timeout: *timeout,
			// A redirect is not readiness.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		if *certFile != "" {
			pin, err := loadLeaf(*certFile)
			if err != nil {
				return err
			}
			client.Transport = &http.Transport{TLSClientConfig: pinnedTLS(pin)}
		}
		return checkReady(e.context(), client, target)
	}
}

// readyURL is the URL healthcheck asks: rawURL when given, otherwise
// /readyz at addr, where an unspecified host means the loopback address.
func readyURL(addr, rawURL string, https bool) (string, error) {
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("--url %q is not an http or https URL", rawURL)
		}
		return rawURL, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q is not HOST:PORT", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkReady GETs target and succeeds only on 200 OK.
func checkReady(ctx context.Context, client *http.Client, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: GET %s: %s", target, resp.Status)
	}
	return nil
}

// loadLeaf returns the first certificate of the PEM file, DER-encoded.
func loadLeaf(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s holds no PEM certificate", file)
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes, nil
		}
	}
}

// pinnedTLS accepts exactly the server certificate pin, and no other: a
// self-signed certificate, or one for a public name, asked for on the
// loopback address.
func pinnedTLS(pin []byte) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain and names are not what is checked: the certificate
		// itself is, in VerifyConnection.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, pin) {
				return errors.New("the server's certificate is not the one in --tls-cert")
			}
			return nil
		},
	}
}
