package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// DefaultRevocationStaleAfter is Config.RevocationStaleAfter's default.
const DefaultRevocationStaleAfter = time.Minute

// Errors of the revocation checks. A revoked token's error wraps
// revocation.ErrRevoked.
var (
	// ErrRevocationsStale reports that an issuer's revocation feed has not
	// been current for longer than Config.RevocationStaleAfter, so the
	// verifier cannot tell whether the token was revoked, and the policy
	// is to fail closed (Config.RevocationFailOpen unset). It is also
	// returned before the feed has caught up for the first time.
	ErrRevocationsStale = errors.New("verifier: revocation feed not current")
	// ErrIntrospection reports that RequireFresh could not get an answer
	// from the issuer's introspection endpoint.
	ErrIntrospection = errors.New("verifier: token introspection failed")
)

// feedPath and introspectionPath are where latch serves the revocation
// feed and RFC 7662 introspection, relative to the issuer URL.
const (
	feedPath          = "/v1/revocations"
	introspectionPath = "/oauth2/introspect"
)

// follow starts following st's revocation feed when the issuer has client
// credentials.
func (v *Verifier) follow(bg context.Context, st *issuerState) error {
	iss := st.cfg
	if iss.ClientID == "" && iss.ClientSecret == "" {
		return nil
	}
	if iss.ClientID == "" || iss.ClientSecret == "" {
		return fmt.Errorf("verifier: issuer %s needs both ClientID and ClientSecret", iss.Issuer)
	}
	feedURL := iss.RevocationsURL
	if feedURL == "" {
		feedURL = strings.TrimRight(iss.Issuer, "/") + feedPath
	}
	// The feed is a long-lived stream: a client Timeout would cut it.
	var hc *http.Client
	if v.userClient != nil {
		c := *v.userClient
		c.Timeout = 0
		hc = &c
	}
	f, err := revocation.NewFollower(revocation.FollowerConfig{
		URL: feedURL, ClientID: iss.ClientID, ClientSecret: iss.ClientSecret,
		HTTPClient: hc, Logger: v.cfg.Logger.With("issuer", iss.Issuer), Now: v.cfg.Now,
	})
	if err != nil {
		return fmt.Errorf("verifier: issuer %s: %w", iss.Issuer, err)
	}
	st.feed = f
	go f.Run(bg)
	return nil
}

// waitFeed waits until st's feed has caught up once, for at most
// FetchTimeout or until ctx ends.
func (v *Verifier) waitFeed(ctx context.Context, st *issuerState) error {
	if st.feed == nil {
		return nil
	}
	t := time.NewTimer(v.cfg.FetchTimeout)
	defer t.Stop()
	select {
	case <-st.feed.Ready():
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	why := st.feed.Stats().LastError
	if why == "" {
		why = "no answer"
	}
	return fmt.Errorf("verifier: issuer %s: revocation feed not reachable: %s", st.cfg.Issuer, why)
}

// checkRevoked refuses a verified token that its issuer's feed revoked,
// or any token of that issuer while the feed is not current (unless
// RevocationFailOpen). It is on every Verify, cache hits included, and
// costs an atomic load and the deny list's lookups.
func (v *Verifier) checkRevoked(st *issuerState, kid string, c *jwt.Claims, now time.Time) error {
	f := st.feed
	if f == nil {
		return nil
	}
	if !v.cfg.RevocationFailOpen && f.Stale(now, v.cfg.RevocationStaleAfter) {
		return ErrRevocationsStale
	}
	return f.List().Check(kid, c)
}

// watchStaleness logs when an issuer's feed stops or starts being
// current, the alarm of both policies.
func (v *Verifier) watchStaleness(ctx context.Context, st *issuerState) {
	if st.feed == nil {
		return
	}
	tick := time.NewTicker(min(v.cfg.RevocationStaleAfter/4, 5*time.Second))
	defer tick.Stop()
	log := v.cfg.Logger.With("issuer", st.cfg.Issuer)
	stale := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := st.feed.Stale(v.cfg.now(), v.cfg.RevocationStaleAfter)
		switch {
		case now && !stale && v.cfg.RevocationFailOpen:
			log.Error("revocation feed not current: accepting tokens without revocation checks (fail open)", "stale_after", v.cfg.RevocationStaleAfter, "last_error", st.feed.Stats().LastError)
		case now && !stale:
			log.Error("revocation feed not current: refusing this issuer's tokens (fail closed)", "stale_after", v.cfg.RevocationStaleAfter, "last_error", st.feed.Stats().LastError)
		case !now && stale:
			log.Info("revocation feed current again")
		}
		stale = now
	}
}

// Stats describes a Verifier's view of its issuers, for monitoring.
type Stats struct {
	Issuers []IssuerStats
}

// IssuerStats is one issuer's part of Stats.
type IssuerStats struct {
	Issuer string
	// KeysLoaded reports whether a key set is at hand; KeysStale that the
	// last JWKS fetch failed and the last good set is being served.
	KeysLoaded, KeysStale bool
	// JWKSFetches counts JWKS fetches.
	JWKSFetches int64
	// Feed is the revocation feed's state; nil when the issuer has no
	// client credentials and so no feed.
	Feed *revocation.Stats
	// FeedStale reports that the feed has not been current for longer
	// than Config.RevocationStaleAfter.
	FeedStale bool
}

// Stats returns the state of every issuer: keys, and the revocation
// feed's lag, deny-list size and staleness.
func (v *Verifier) Stats() Stats {
	var s Stats
	now := v.cfg.now()
	for _, iss := range v.cfg.Issuers {
		st := v.issuers[iss.Issuer]
		is := IssuerStats{
			Issuer:      iss.Issuer,
			KeysLoaded:  st.src.current() != nil,
			KeysStale:   st.src.stale.Load(),
			JWKSFetches: st.src.fetches.Load(),
		}
		if st.feed != nil {
			fs := st.feed.Stats()
			is.Feed = &fs
			is.FeedStale = st.feed.Stale(now, v.cfg.RevocationStaleAfter)
		}
		s.Issuers = append(s.Issuers, is)
	}
	return s
}

// RequireFresh is Require for the few routes that cannot accept any
// revocation delay: after the local verification it asks the issuer
// (RFC 7662 introspection, authenticated with the issuer's client
// credentials, which need the "introspect" scope) whether the token is
// still active, on every request. That is the cost of a server-side
// session lookup, chosen per route. A token the issuer reports inactive
// is answered 401 "token revoked"; an issuer that cannot be asked, 503:
// the route fails closed.
func (v *Verifier) RequireFresh(next http.Handler) http.Handler {
	return v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(contextKey{}).(*jwt.Claims)
		tok, err := TokenFromRequest(r)
		if err == nil && c != nil {
			// The issuer cannot read a token encrypted to this service:
			// ask it about the signed token inside.
			if tok, err = v.signedToken(tok); err == nil {
				err = v.introspect(r.Context(), c.Issuer, tok)
			}
		}
		if err != nil {
			challenge(w, err)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// maxIntrospectionResponse bounds an introspection answer.
const maxIntrospectionResponse = 64 << 10

// introspect asks the issuer whether token is active: nil if it is, an
// error wrapping revocation.ErrRevoked if not, ErrIntrospection when no
// answer could be had.
func (v *Verifier) introspect(ctx context.Context, issuer, token string) error {
	st := v.issuers[issuer]
	if st == nil || st.cfg.ClientID == "" {
		return fmt.Errorf("%w: issuer %s has no client credentials", ErrIntrospection, issuer)
	}
	endpoint := st.cfg.IntrospectionURL
	if endpoint == "" {
		endpoint = strings.TrimRight(issuer, "/") + introspectionPath
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.FetchTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIntrospection, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(st.cfg.ClientID), url.QueryEscape(st.cfg.ClientSecret))
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIntrospection, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionResponse+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: reading the answer: %v", ErrIntrospection, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: issuer answered %s", ErrIntrospection, resp.Status)
	case len(body) > maxIntrospectionResponse:
		return fmt.Errorf("%w: answer larger than %d bytes", ErrIntrospection, maxIntrospectionResponse)
	}
	active, err := introspectionActive(body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIntrospection, err)
	}
	if !active {
		return errInactive
	}
	return nil
}

// errInactive is a token the issuer's introspection reports inactive.
var errInactive = fmt.Errorf("%w: issuer reports the token inactive", revocation.ErrRevoked)

// introspectionActive reads the one member RequireFresh needs, "active",
// from an RFC 7662 answer, strictly: it must be a JSON boolean, once.
func introspectionActive(body []byte) (bool, error) {
	if err := strictjson.Validate(body); err != nil {
		return false, err
	}
	o := strictjson.NewObject(body)
	for o.Next(body) {
		if string(o.Name(body)) == "active" {
			switch o.Value().Kind {
			case strictjson.True:
				return true, nil
			case strictjson.False:
				return false, nil
			}
			return false, errors.New(`"active" is not a boolean`)
		}
	}
	if err := o.Err(); err != nil {
		return false, err
	}
	return false, errors.New(`answer has no "active" member`)
}
