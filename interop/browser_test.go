package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// This file drives headless Chromium (chromedp) through latch's pages
// (internal/web) and catches the browser at the client's redirect URI.

// Element ids of latch's pages (internal/web/templates).
const (
	selEmail          = "#email"           // login: e-mail address
	selPassword       = "#password"        // login: password
	selSignIn         = "#sign-in"         // login: submit
	selAllow          = "#allow"           // consent: approve
	selChangePassword = "#change-password" // account: change-password submit
	selLogoutSession  = "#logout-session-0"
)

// Pages, as browser.settle names them.
const (
	pageLogin    = "login"
	pageConsent  = "consent"
	pageAccount  = "account"
	pageCallback = "callback" // the client's redirect URI
	pageOther    = "other"
)

// stepTimeout bounds each browser step.
const stepTimeout = 30 * time.Second

// chromiumPath returns the Chromium to drive: /usr/bin/chromium, else
// chromium on PATH, else "".
func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, _ := exec.LookPath("chromium")
	return p
}

// browser is one headless Chromium with one tab.
type browser struct {
	t        *testing.T
	ctx      context.Context // the tab
	callback string          // the client's redirect URI, to recognise it
	shots    string          // where screenshots go
}

// newBrowser starts headless Chromium with a fresh profile, or skips the
// test when Chromium is not installed. callback is the redirect URI at
// which settle reports pageCallback.
func newBrowser(t *testing.T, callback string) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium is not installed (no /usr/bin/chromium, no chromium on PATH): skipping the browser test; .ci/run installs it")
	}
	shots := os.Getenv("LATCH_SCREENSHOTS_DIR")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// The flags of /work/.library/env/machines: a closed network refuses
	// Chromium's background connections, so turn them off.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	// The cleanups run in reverse: the tab closes, then the browser exits
	// (cancel waits for it), then the profile directory is removed.
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return &browser{t: t, ctx: ctx, callback: callback, shots: shots}
}

// do runs the actions, failing the test with what on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v\n%s", what, err, b.describe())
	}
}

// eval evaluates a JavaScript expression in the page. DevTools
// evaluations are not subject to the page's Content-Security-Policy, and
// latch's pages need no JavaScript of their own.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// mark tags the current document, so that settle can tell when a
// navigation has replaced it.
func (b *browser) mark() {
	b.t.Helper()
	if _, err := eval[bool](b, `window.__latchStale = true`); err != nil {
		b.t.Fatalf("browser: mark the page: %v", err)
	}
}

// navigate marks the page and opens u.
func (b *browser) navigate(what, u string) {
	b.t.Helper()
	b.mark()
	b.do(what, chromedp.Navigate(u))
}

// click marks the page and clicks the element sel (a CSS selector).
func (b *browser) click(what, sel string) {
	b.t.Helper()
	b.mark()
	b.do(what, chromedp.Click(chromedp.CSS(sel)))
}

// settle waits until a new document has replaced the marked one and has
// loaded, and returns which page it is: pageLogin, pageConsent,
// pageAccount, pageCallback or pageOther.
func (b *browser) settle() string {
	b.t.Helper()
	js := func(v string) string { s, _ := json.Marshal(v); return string(s) }
	expr := `(() => {
	if (window.__latchStale || document.readyState !== "complete") return "";
	if (location.href.startsWith(` + js(b.callback) + `)) return "callback";
	const has = (sel) => document.querySelector(sel) !== null;
	if (has(` + js(selEmail) + `) && has(` + js(selPassword) + `)) return "login";
	if (has(` + js(selAllow) + `)) return "consent";
	if (has(` + js(selChangePassword) + `)) return "account";
	return "other";
})()`
	deadline := time.Now().Add(stepTimeout)
	for {
		// While a navigation is under way the evaluation can fail (the
		// execution context is destroyed): try again.
		page, err := eval[string](b, expr)
		if err == nil && page != "" {
			return page
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: no new page loaded within %v (last error: %v)\n%s", stepTimeout, err, b.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantPage fails the test unless the browser shows page; during says
// what the browser was doing.
func (b *browser) wantPage(during, page string) {
	b.t.Helper()
	if got := b.settle(); got != page {
		b.t.Fatalf("browser: %s: landed on the %s page, want the %s page\n%s", during, got, page, b.describe())
	}
}

// text returns the visible text of the page.
func (b *browser) text() string {
	s, _ := eval[string](b, `document.body ? document.body.innerText : ""`)
	return s
}

// has reports whether the page has an element matching sel.
func (b *browser) has(sel string) bool {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	ok, err := eval[bool](b, `document.querySelector(`+string(js)+`) !== null`)
	if err != nil {
		b.t.Fatalf("browser: query %s: %v", sel, err)
	}
	return ok
}

// describe says where the browser is and what it shows, for failures.
func (b *browser) describe() string {
	loc, _ := eval[string](b, `location.href`)
	text := b.text()
	if len(text) > 1500 {
		text = text[:1500] + "…"
	}
	return "  at " + loc + "\n  page text: " + strings.ReplaceAll(text, "\n", "\n    ")
}

// screenshot saves a full-page PNG of the page as name.png and checks
// that it is a real picture of a page.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Fatalf("browser: screenshot of the %s page: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	checkScreenshot(b.t, path)
	b.t.Logf("screenshot of the %s page: %s", name, path)
}

// checkScreenshot fails the test unless the file at path is a PNG of at
// least 320x200 pixels and 2 KiB with at least 3 colours (a rendered page,
// not a blank one).
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s: png.Decode: %v", path, err)
	}
	r := img.Bounds()
	colours := map[color.RGBA64]bool{}
	for y := r.Min.Y; y < r.Max.Y && len(colours) < 3; y += 2 {
		for x := r.Min.X; x < r.Max.X && len(colours) < 3; x += 2 {
			c := color.RGBA64Model.Convert(img.At(x, y)).(color.RGBA64)
			colours[c] = true
		}
	}
	if r.Dx() < 320 || r.Dy() < 200 || len(buf) < 2048 || len(colours) < 3 {
		t.Errorf("screenshot %s: %dx%d pixels, %d bytes, %d colours; want at least 320x200, 2048 bytes, 3 colours",
			path, r.Dx(), r.Dy(), len(buf), len(colours))
	}
}

// redirectCatcher is the client's redirect URI: a local server that
// records the query of each request to /callback.
type redirectCatcher struct {
	srv *httptest.Server
	got chan url.Values
}

func newRedirectCatcher(t *testing.T) *redirectCatcher {
	c := &redirectCatcher{got: make(chan url.Values, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		select {
		case c.got <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><title>client</title><p>Back at the client.</p>")
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

// uri is the redirect URI to register.
func (c *redirectCatcher) uri() string { return c.srv.URL + "/callback" }

// wait returns the query of the next request to the redirect URI.
func (c *redirectCatcher) wait(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-c.got:
		return q
	case <-time.After(5 * time.Second):
		t.Fatal("the browser is at the redirect URI, but the client received no request there")
		return nil
	}
}

// authorizationCode checks an authorization response (RFC 6749 §4.1.2,
// RFC 9207) and returns its code.
func authorizationCode(t *testing.T, q url.Values, state, issuer string) string {
	t.Helper()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization response: error %q (%s), want a code", e, q.Get("error_description"))
	}
	if got := q.Get("state"); got != state {
		t.Errorf("authorization response: state = %q, want %q", got, state)
	}
	if got := q.Get("iss"); got != issuer {
		t.Errorf("authorization response: iss = %q, want %q (RFC 9207)", got, issuer)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("authorization response %v has no code", q)
	}
	return code
}
