package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jose"
)

// withConfig starts a second server over a's components (database,
// keys, sessions, feed hub) with cfg, whose Issuer and Audience default
// to the tests' own, and returns an api that talks to it.
func (a *api) withConfig(cfg server.Config) *api {
	a.t.Helper()
	return a.serve(cfg, a.db, a.hub)
}

// serve starts a server with cfg over db and hub and a's keys and
// sessions.
func (a *api) serve(cfg server.Config, db *sqlite.DB, hub *feed.Hub) *api {
	a.t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = testAudience
	}
	iss, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}})
	if err != nil {
		a.t.Fatal(err)
	}
	deps := server.Deps{
		Users: db, Login: login.New(db, db, a.hasher, login.Config{}), Sessions: a.sessions, Issuer: iss,
		Keys: a.ring, Hasher: a.hasher, Ready: db.Ping, Clients: db,
	}
	if hub != nil {
		deps.Feed = hub
	}
	srv, err := server.New(cfg, deps)
	if err != nil {
		a.t.Fatalf("server.New = %v, want nil", err)
	}
	hs := httptest.NewServer(srv.Handler())
	a.t.Cleanup(hs.Close)
	b := *a
	b.url, b.client = hs.URL, hs.Client()
	return &b
}

// secondNode starts another server process, as it were, on a's database
// file: its own database handle, its own feed hub, its own server.
func (a *api) secondNode() *api {
	a.t.Helper()
	var hubRef atomic.Pointer[feed.Hub]
	db, err := sqlite.Open(a.t.Context(), a.dbPath, sqlite.Options{Options: store.Options{Notify: func() {
		if h := hubRef.Load(); h != nil {
			h.Notify()
		}
	}}})
	if err != nil {
		a.t.Fatalf("second sqlite.Open = %v, want nil", err)
	}
	a.t.Cleanup(func() { db.Close() })
	hub, err := feed.New(db, feed.Config{})
	if err != nil {
		a.t.Fatal(err)
	}
	hubRef.Store(hub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	a.t.Cleanup(func() { cancel(); <-done })
	select {
	case <-hub.Ready():
	case err := <-done:
		a.t.Fatalf("second Hub.Run = %v before it was ready", err)
	}
	return a.serve(server.Config{}, db, hub)
}

// pollResponse is the answer to a poll request (RFC 8936 §2.5).
type pollResponse struct {
	Sets          map[string]string `json:"sets"`
	MoreAvailable bool              `json:"moreAvailable"`
}

// jtis returns the SETs' jtis in Seq order.
func (p pollResponse) jtis() []string {
	var s []string
	for jti := range p.Sets {
		s = append(s, jti)
	}
	sort.Slice(s, func(i, j int) bool {
		a, _ := strconv.Atoi(s[i])
		b, _ := strconv.Atoi(s[j])
		return a < b
	})
	return s
}

// poll sends a poll request with body and parses the answer strictly.
func (a *api) poll(auth http.Header, body string) pollResponse {
	a.t.Helper()
	r := a.do(request{method: "POST", path: "/v1/revocations/poll", header: auth, body: body})
	wantStatus(a.t, r, http.StatusOK)
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		a.t.Errorf("%s: Cache-Control %q, want no-store", r.req, cc)
	}
	var p pollResponse
	decode(a.t, r, &p)
	if p.Sets == nil {
		a.t.Fatalf("%s = %s, want a \"sets\" object", r.req, r.body)
	}
	return p
}

// cursor returns the stored SET cursor of the client id.
func (a *api) cursor(id string) int64 {
	a.t.Helper()
	c, err := a.db.ClientByID(a.t.Context(), id)
	if err != nil {
		a.t.Fatalf("ClientByID(%s) = %v, want nil", id, err)
	}
	return c.SETCursor
}

// setClaims are the claims of a SET, every one of them.
type setClaims struct {
	Iss    string                    `json:"iss"`
	JTI    string                    `json:"jti"`
	IAT    int64                     `json:"iat"`
	Aud    string                    `json:"aud"`
	SubID  map[string]any            `json:"sub_id"`
	Events map[string]map[string]any `json:"events"`
}

// verifySET verifies a SET as a receiver does, with the JWKS the server
// publishes, and returns its claims.
func (a *api) verifySET(tok string) setClaims {
	a.t.Helper()
	r := a.do(request{method: "GET", path: "/.well-known/jwks.json"})
	wantStatus(a.t, r, http.StatusOK)
	jwks, err := jose.ParseJWKSet(r.body)
	if err != nil {
		a.t.Fatalf("ParseJWKSet(%s) = %v, want nil", r.body, err)
	}
	hdr, payload, err := jose.Verify(tok, jwks, jose.VerifyOptions{})
	if err != nil {
		a.t.Fatalf("Verify(SET) with the published JWKS = %v, want nil", err)
	}
	signer, err := a.ring.Signer()
	if err != nil {
		a.t.Fatal(err)
	}
	if hdr.Type != "secevent+jwt" || hdr.KeyID != signer.KeyID() || hdr.Algorithm != signer.Algorithm() {
		a.t.Errorf("SET header %+v, want typ secevent+jwt and the signing key %s", hdr, signer.KeyID())
	}
	var c setClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		a.t.Fatalf("SET payload %s: %v", payload, err)
	}
	return c
}

// pollAPI is an API with the feed, and a client that may poll it.
func pollAPI(t *testing.T) (a *api, id string, auth http.Header) {
	t.Helper()
	a = newAPI(t, options{feed: &feed.Config{Poll: time.Hour}})
	id, secret := a.addClient("receiver", client.ScopeRevocationsRead)
	return a, id, basicAuth(id, secret)
}

// TestPollSETs checks the SET of each kind of revocation as a receiver
// sees it: signed by the current key, verified with the published JWKS.
func TestPollSETs(t *testing.T) {
	a, id, auth := pollAPI(t)
	u := a.addUser("ann@example.com")
	tk := a.login("ann@example.com")
	// Seq 1 to 4: a session (by logout), a token, a subject, a key.
	wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: "{}"}), http.StatusOK)
	a.revoke(store.KindToken, "jti-2")
	if _, _, err := a.db.RevokeUser(t.Context(), u.ID, store.ReasonRoleChange, time.Now(), false, nil); err != nil {
		t.Fatal(err)
	}
	a.revoke(store.KindKey, "kid-4")

	start := time.Now().Unix()
	p := a.poll(auth, `{"returnImmediately":true}`)
	if !slices.Equal(p.jtis(), []string{"1", "2", "3", "4"}) || p.MoreAvailable {
		t.Fatalf("first poll = %v more %v, want SETs 1 to 4, no more", p.jtis(), p.MoreAvailable)
	}
	recs, err := a.db.RevocationsSince(t.Context(), 0, 10)
	if err != nil || len(recs) != 4 {
		t.Fatalf("RevocationsSince = %d records, %v, want 4", len(recs), err)
	}
	iss := map[string]any{"format": "iss_sub", "iss": testIssuer, "sub": u.ID}
	tests := []struct {
		jti       string
		eventType string
		subID     map[string]any
		members   map[string]any // the event's own members
	}{
		{"1", "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
			map[string]any{"format": "complex", "session": map[string]any{"format": "opaque", "id": tk.SessionID}, "user": iss},
			map[string]any{}},
		{"2", "urn:latch:secevent:token-revoked",
			map[string]any{"format": "jwt_id", "iss": testIssuer, "jti": "jti-2"},
			map[string]any{"jti": "jti-2"}},
		{"3", "urn:latch:secevent:subject-tokens-revoked", iss,
			map[string]any{"sub_id": iss, "issued_at_or_before": float64(recs[2].At.Unix())}},
		{"4", "urn:latch:secevent:signing-key-revoked",
			map[string]any{"format": "opaque", "id": "kid-4"},
			map[string]any{"kid": "kid-4"}},
	}
	for i, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			c := a.verifySET(p.Sets[tt.jti])
			if c.Iss != testIssuer || c.JTI != tt.jti || c.Aud != id || c.IAT < start || c.IAT > time.Now().Unix() {
				t.Errorf("SET %s: iss %q jti %q aud %q iat %d, want %q, %q, the client %q, now", tt.jti, c.Iss, c.JTI, c.Aud, c.IAT, testIssuer, tt.jti, id)
			}
			if !equalJSON(c.SubID, tt.subID) {
				t.Errorf("SET %s: sub_id %v, want %v", tt.jti, c.SubID, tt.subID)
			}
			ev, ok := c.Events[tt.eventType]
			if len(c.Events) != 1 || !ok {
				t.Fatalf("SET %s: events %v, want one %s", tt.jti, c.Events, tt.eventType)
			}
			want := map[string]any{
				"event_timestamp": float64(recs[i].At.Unix()),
				"latch_expires":   float64(feed.Event(recs[i]).Expires.Unix()),
				"reason_admin":    map[string]any{"en": string(recs[i].Reason)},
			}
			for k, v := range tt.members {
				want[k] = v
			}
			if !equalJSON(ev, want) {
				t.Errorf("SET %s: event %v, want %v", tt.jti, ev, want)
			}
		})
	}
}

// equalJSON compares two values as JSON.
func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// TestPollAcknowledge walks a receiver through acknowledgements: acked
// SETs are not delivered again, and only a contiguous run of them moves
// its cursor.
func TestPollAcknowledge(t *testing.T) {
	a, id, auth := pollAPI(t)
	for i := range 4 {
		a.revoke(store.KindToken, fmt.Sprint("jti-", i+1))
	}
	steps := []struct {
		name       string
		body       string
		wantJTIs   []string
		wantMore   bool
		wantCursor int64
	}{
		{"first poll", `{"returnImmediately":true}`, []string{"1", "2", "3", "4"}, false, 0},
		{"poll again: nothing acknowledged", `{"returnImmediately":true}`, []string{"1", "2", "3", "4"}, false, 0},
		{"acknowledgement only", `{"ack":["1","2"],"maxEvents":0}`, nil, true, 2},
		{"unknown and acknowledged ones ignored", `{"ack":["1","99","x","02","-3","","3.0"],"returnImmediately":true}`, []string{"3", "4"}, false, 2},
		{"above a gap: delivered again", `{"ack":["4"],"returnImmediately":true}`, []string{"3", "4"}, false, 2},
		{"errors count as acknowledgements", `{"ack":["4"],"setErrs":{"3":{"err":"invalid_key","description":"no such key"}},"returnImmediately":true}`, nil, false, 4},
		{"all acknowledged", `{"returnImmediately":true}`, nil, false, 4},
	}
	for _, s := range steps {
		p := a.poll(auth, s.body)
		if !slices.Equal(p.jtis(), s.wantJTIs) || p.MoreAvailable != s.wantMore {
			t.Errorf("%s: poll %s = %v more %v, want %v more %v", s.name, s.body, p.jtis(), p.MoreAvailable, s.wantJTIs, s.wantMore)
		}
		if got := a.cursor(id); got != s.wantCursor {
			t.Errorf("%s: cursor %d, want %d", s.name, got, s.wantCursor)
		}
	}
	a.revoke(store.KindToken, "jti-5")
	if p := a.poll(auth, `{"returnImmediately":true}`); !slices.Equal(p.jtis(), []string{"5"}) {
		t.Errorf("poll after a new revocation = %v, want [5]", p.jtis())
	}
	// Each client has its own cursor.
	other := basicAuth(a.addClient("other receiver", client.ScopeRevocationsRead))
	if p := a.poll(other, `{"returnImmediately":true}`); len(p.Sets) != 5 {
		t.Errorf("another client's first poll = %v, want all 5 SETs", p.jtis())
	}
}

// TestPollCursorPersists checks that a receiver's acknowledgements are
// kept in the database: another server on the same database file does
// not deliver them again.
func TestPollCursorPersists(t *testing.T) {
	a, id, auth := pollAPI(t)
	for i := range 3 {
		a.revoke(store.KindToken, fmt.Sprint("jti-", i+1))
	}
	if p := a.poll(auth, `{"returnImmediately":true}`); !slices.Equal(p.jtis(), []string{"1", "2", "3"}) {
		t.Fatalf("first poll = %v, want [1 2 3]", p.jtis())
	}
	if p := a.poll(auth, `{"ack":["1","2"],"returnImmediately":true}`); !slices.Equal(p.jtis(), []string{"3"}) {
		t.Fatalf("poll acknowledging 1 and 2 = %v, want [3]", p.jtis())
	}
	if got := a.cursor(id); got != 2 {
		t.Fatalf("cursor %d, want 2", got)
	}
	b := a.secondNode()
	if p := b.poll(auth, `{"returnImmediately":true}`); !slices.Equal(p.jtis(), []string{"3"}) {
		t.Errorf("poll of the second server = %v, want [3]", p.jtis())
	}
	if p := b.poll(auth, `{"ack":["3"],"returnImmediately":true}`); len(p.Sets) != 0 {
		t.Errorf("poll of the second server acknowledging 3 = %v, want none", p.jtis())
	}
	if p := a.poll(auth, `{"returnImmediately":true}`); len(p.Sets) != 0 {
		t.Errorf("poll of the first server after the second's ack = %v, want none", p.jtis())
	}
}

func TestPollMaxEvents(t *testing.T) {
	a, _, auth := pollAPI(t)
	for i := range 5 {
		a.revoke(store.KindToken, fmt.Sprint("jti-", i+1))
	}
	steps := []struct {
		body     string
		wantJTIs []string
		wantMore bool
	}{
		{`{"maxEvents":2,"returnImmediately":true}`, []string{"1", "2"}, true},
		{`{"ack":["1","2"],"maxEvents":2,"returnImmediately":true}`, []string{"3", "4"}, true},
		{`{"ack":["3","4"],"maxEvents":0}`, nil, true},
		{`{"maxEvents":2,"returnImmediately":true}`, []string{"5"}, false},
		{`{"maxEvents":1,"returnImmediately":true}`, []string{"5"}, false},
		{`{"ack":["5"],"maxEvents":0}`, nil, false},
	}
	for _, s := range steps {
		p := a.poll(auth, s.body)
		if !slices.Equal(p.jtis(), s.wantJTIs) || p.MoreAvailable != s.wantMore {
			t.Errorf("poll %s = %v more %v, want %v more %v", s.body, p.jtis(), p.MoreAvailable, s.wantJTIs, s.wantMore)
		}
	}

	// At most feed.MaxPollEvents, however many are asked for.
	for i := range feed.MaxPollEvents + 1 {
		a.revoke(store.KindToken, fmt.Sprint("more-", i))
	}
	for _, body := range []string{`{"returnImmediately":true}`, `{"maxEvents":1000,"returnImmediately":true}`} {
		p := a.poll(auth, body)
		jtis := p.jtis()
		if len(jtis) != feed.MaxPollEvents || jtis[0] != "6" || !p.MoreAvailable {
			t.Errorf("poll %s = %d SETs from %v, more %v, want %d from 6 and more", body, len(jtis), jtis[:min(1, len(jtis))], p.MoreAvailable, feed.MaxPollEvents)
		}
	}
}

// TestPollLongPoll checks a poll that waits: it answers as soon as a
// revocation commits, or empty after its wait.
func TestPollLongPoll(t *testing.T) {
	a, id, auth := pollAPI(t)
	const wait = 300 * time.Millisecond
	short := a.withConfig(server.Config{PollWait: wait})

	start := time.Now()
	p := short.poll(auth, `{}`)
	took := time.Since(start)
	if len(p.Sets) != 0 || p.MoreAvailable || took < wait || took > 5*time.Second {
		t.Errorf("long poll with nothing to deliver = %v more %v after %v, want nothing after %v", p.jtis(), p.MoreAvailable, took, wait)
	}

	long := a.withConfig(server.Config{PollWait: time.Minute})
	got := make(chan pollResponse, 1)
	start = time.Now()
	go func() { got <- long.poll(auth, `{"maxEvents":10}`) }()
	time.Sleep(100 * time.Millisecond) // let the poll start waiting
	committed := time.Now()
	a.revoke(store.KindToken, "jti-1")
	select {
	case p := <-got:
		t.Logf("the long poll answered %v after the commit", time.Since(committed))
		if !slices.Equal(p.jtis(), []string{"1"}) {
			t.Errorf("long poll = %v, want [1]", p.jtis())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("long poll took %v, want an answer as soon as the revocation committed", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not answer within 10 s of a committed revocation")
	}

	// Acknowledging everything and waiting: the acknowledgement is kept,
	// and the wait ends empty.
	start = time.Now()
	if p := short.poll(auth, `{"ack":["1"]}`); len(p.Sets) != 0 || time.Since(start) < wait {
		t.Errorf("long poll acknowledging everything = %v after %v, want nothing after %v", p.jtis(), time.Since(start), wait)
	}
	if got := a.cursor(id); got != 1 {
		t.Errorf("cursor %d after the acknowledging long poll, want 1", got)
	}
}

// TestPollShutdown checks that a waiting poll ends when the feed stops.
func TestPollShutdown(t *testing.T) {
	a, _, auth := pollAPI(t)
	long := a.withConfig(server.Config{PollWait: time.Minute})
	var wg sync.WaitGroup
	wg.Add(1)
	got := make(chan pollResponse, 1)
	go func() { defer wg.Done(); got <- long.poll(auth, `{}`) }()
	time.Sleep(100 * time.Millisecond)
	a.stopHub()
	select {
	case p := <-got:
		if len(p.Sets) != 0 {
			t.Errorf("long poll ended by the shutdown = %v, want none", p.jtis())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not end within 10 s of the hub's stop")
	}
	wg.Wait()
}

// TestPollSnapshot checks cursors the feed no longer has records for:
// behind pruned records, or beyond every Seq (a restored database).
func TestPollSnapshot(t *testing.T) {
	a, id, auth := pollAPI(t)
	now := time.Now()
	for _, subject := range []string{"old-1", "old-2"} {
		if _, err := a.db.AddRevocation(t.Context(), store.Revocation{Kind: store.KindToken, Subject: subject, Reason: store.ReasonAdmin, At: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	a.revoke(store.KindToken, "jti-3")
	a.revoke(store.KindToken, "jti-4")
	if n, err := a.db.PruneRevocations(t.Context(), now); err != nil || n != 2 {
		t.Fatalf("PruneRevocations = %d, %v, want 2, nil", n, err)
	}
	setCursor := func(n int64) {
		t.Helper()
		if _, err := a.db.UpdateClient(t.Context(), id, func(c store.Client) (store.Client, error) {
			c.SETCursor = n
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name       string
		cursor     int64
		ack        string
		wantJTIs   []string
		wantCursor int64
	}{
		{"behind the pruned records", 1, "", []string{"3", "4"}, 1},
		{"behind the pruned records, acknowledging the oldest kept", 1, "3", []string{"4"}, 3},
		{"at the pruned watermark", 2, "", []string{"3", "4"}, 2},
		{"beyond every Seq", 99, "", []string{"3", "4"}, 99},
		{"beyond every Seq, acknowledging", 99, "3", []string{"4"}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setCursor(tt.cursor)
			body := `{"returnImmediately":true}`
			if tt.ack != "" {
				body = `{"ack":["` + tt.ack + `"],"returnImmediately":true}`
			}
			p := a.poll(auth, body)
			if !slices.Equal(p.jtis(), tt.wantJTIs) {
				t.Errorf("poll %s with cursor %d = %v, want %v", body, tt.cursor, p.jtis(), tt.wantJTIs)
			}
			if got := a.cursor(id); got != tt.wantCursor {
				t.Errorf("cursor %d, want %d", got, tt.wantCursor)
			}
		})
	}
}

// setError is the body of a refused poll request (RFC 8936 §2.6).
type setError struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

func TestPollErrors(t *testing.T) {
	a, _, auth := pollAPI(t)
	introID, introSecret := a.addClient("introspector", client.ScopeIntrospect)
	readerID, readerSecret := a.addClient("other reader", client.ScopeRevocationsRead)

	t.Run("authentication", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			header http.Header
			status int
			code   string
		}{
			{"no credentials", nil, http.StatusUnauthorized, "invalid_client"},
			{"wrong secret", basicAuth(readerID, readerSecret+"x"), http.StatusUnauthorized, "invalid_client"},
			{"unknown client", basicAuth("c_00000000000000000000000000000000", readerSecret), http.StatusUnauthorized, "invalid_client"},
			{"client without the scope", basicAuth(introID, introSecret), http.StatusForbidden, "insufficient_scope"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := a.do(request{method: "POST", path: "/v1/revocations/poll", header: tt.header, body: `{"returnImmediately":true}`})
				wantError(t, r, tt.status, tt.code)
				if tt.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != `Basic realm="latch"` {
					t.Errorf("%s: WWW-Authenticate %q, want Basic", r.req, r.header.Get("WWW-Authenticate"))
				}
			})
		}
	})

	t.Run("body", func(t *testing.T) {
		for _, tt := range []struct {
			name        string
			body        string
			contentType string
			status      int
		}{
			{"negative maxEvents", `{"maxEvents":-1}`, "", http.StatusBadRequest},
			{"fractional maxEvents", `{"maxEvents":1.5}`, "", http.StatusBadRequest},
			{"exponent maxEvents", `{"maxEvents":1e2}`, "", http.StatusBadRequest},
			{"string maxEvents", `{"maxEvents":"1"}`, "", http.StatusBadRequest},
			{"huge maxEvents", `{"maxEvents":99999999999999999999}`, "", http.StatusBadRequest},
			{"ack not an array", `{"ack":"1"}`, "", http.StatusBadRequest},
			{"ack of numbers", `{"ack":[1]}`, "", http.StatusBadRequest},
			{"setErrs an array", `{"setErrs":[]}`, "", http.StatusBadRequest},
			{"setErrs of strings", `{"setErrs":{"1":"bad"}}`, "", http.StatusBadRequest},
			{"setErrs with an unknown member", `{"setErrs":{"1":{"err":"x","extra":1}}}`, "", http.StatusBadRequest},
			{"returnImmediately a string", `{"returnImmediately":"yes"}`, "", http.StatusBadRequest},
			{"unknown member", `{"returnImmediately":true,"wait":1}`, "", http.StatusBadRequest},
			{"duplicate member", `{"ack":[],"ack":["1"]}`, "", http.StatusBadRequest},
			{"an array", `[]`, "", http.StatusBadRequest},
			{"null", `null`, "", http.StatusBadRequest},
			{"two objects", `{}{}`, "", http.StatusBadRequest},
			{"truncated", `{"ack":[`, "", http.StatusBadRequest},
			{"empty", ``, "application/json", http.StatusBadRequest},
			{"not JSON", `ack=1`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
			{"no content type", `{}`, "-", http.StatusUnsupportedMediaType},
			{"too large", `{"ack":["` + strings.Repeat("1", server.DefaultMaxBody) + `"]}`, "", http.StatusRequestEntityTooLarge},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := a.do(request{method: "POST", path: "/v1/revocations/poll", header: auth, body: tt.body, contentType: tt.contentType})
				if r.status != tt.status {
					t.Fatalf("%s = %v, want %d", r.req, r, tt.status)
				}
				var e setError
				decode(t, r, &e)
				if e.Err != "invalid_request" || e.Description == "" {
					t.Errorf("%s = %s, want {\"err\": \"invalid_request\", \"description\": ...}", r.req, r.body)
				}
			})
		}
	})

	t.Run("method", func(t *testing.T) {
		r := a.do(request{method: "GET", path: "/v1/revocations/poll", header: auth})
		wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	})

	t.Run("without a feed", func(t *testing.T) {
		b := newAPI(t, options{})
		r := b.do(request{method: "POST", path: "/v1/revocations/poll", header: auth, body: `{}`})
		wantError(t, r, http.StatusNotFound, "not_found")
	})
}

func TestDiscoveryEndpoints(t *testing.T) {
	discovery := func(a *api) map[string]any {
		t.Helper()
		r := a.do(request{method: "GET", path: "/.well-known/openid-configuration"})
		wantStatus(t, r, http.StatusOK)
		var doc map[string]any
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	want := map[string]any{
		"introspection_endpoint":                        testIssuer + "/oauth2/introspect",
		"introspection_endpoint_auth_methods_supported": []any{"client_secret_basic"},
		"revocation_feed_endpoint":                      testIssuer + "/v1/revocations",
		"revocation_feed_stream_endpoint":               testIssuer + "/v1/revocations/stream",
		"revocation_poll_endpoint":                      testIssuer + "/v1/revocations/poll",
	}
	a, _, _ := pollAPI(t)
	doc := discovery(a)
	for k, v := range want {
		if !equalJSON(doc[k], v) {
			t.Errorf("discovery %s = %v, want %v", k, doc[k], v)
		}
	}
	if doc["issuer"] != testIssuer || doc["jwks_uri"] != testIssuer+"/.well-known/jwks.json" {
		t.Errorf("discovery lost its members: %v", doc)
	}
	doc = discovery(newAPI(t, options{}))
	for k := range want {
		if v, ok := doc[k]; ok {
			t.Errorf("discovery without clients or a feed has %s = %v, want it absent", k, v)
		}
	}
}
