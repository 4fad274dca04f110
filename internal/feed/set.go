package feed

// This file delivers the feed's revocations as Security Event Tokens
// (RFC 8417), polled for by receivers as RFC 8936 describes: SignSET
// makes one (its doc comment is the reference for their shapes), and a
// Poller answers poll requests, keeping each receiver's acknowledgements
// in store.Client.SETCursor.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/revocation"
)

// SETType is the JWS "typ" of a Security Event Token (RFC 8417 §2.3).
const SETType = "secevent+jwt"

// The event types of the SETs, one per revocation.Kind. Session
// revocations are the OpenID CAEP 1.0 "session-revoked" event; the other
// kinds have no standard event type and use latch's own URNs.
const (
	EventSessionRevoked       = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	EventTokenRevoked         = "urn:latch:secevent:token-revoked"
	EventSubjectTokensRevoked = "urn:latch:secevent:subject-tokens-revoked"
	EventSigningKeyRevoked    = "urn:latch:secevent:signing-key-revoked"
)

// SETParams are the claims of a SET that do not come from its event.
type SETParams struct {
	// Issuer is the "iss" of the SET and of its subject identifiers: the
	// server's issuer URL. Required.
	Issuer string
	// Audience is the "aud": the client ID of the receiver. Required.
	Audience string
	// IssuedAt is the "iat", in whole seconds.
	IssuedAt time.Time
	// UserID is, for a session revocation, the user whose session it
	// was; empty leaves "user" out of the subject.
	UserID string
}

// SignSET returns the revocation ev as a Security Event Token for the
// receiver p.Audience, signed by key (the server's current signing key),
// whose JWS header is {"alg":ALG,"kid":KID,"typ":"secevent+jwt"}
// (RFC 8417 §2.3). It refuses a malformed event (revocation.ErrMalformed),
// missing parameters, and a symmetric key (jose.ErrInvalidKey): receivers
// verify SETs with the published JWKS, which has no HMAC keys.
//
// # Claims
//
// Every SET has the claims (RFC 8417 §2.2, times in NumericDate seconds)
//
//	{
//	  "iss": ISSUER,                  the server's issuer URL
//	  "jti": "SEQ",                   the event's Seq, in decimal: its position in the feed
//	  "iat": NOW,                     when the SET was signed (a redelivery is signed anew)
//	  "aud": CLIENT_ID,               the receiver
//	  "sub_id": SUBJECT,              the revoked subject (RFC 9493 §4.1), below
//	  "events": {TYPE: EVENT}         exactly one event (RFC 8417 §2.2 "events")
//	}
//
// and no "exp": a SET states a fact, which does not expire. The subject
// is the top-level "sub_id", as the OpenID Shared Signals Framework 1.0
// requires of every event type, CAEP's included; latch's own event types
// repeat it inside the event, in the member named below, for receivers
// that read the event alone. Every EVENT also has
//
//	"event_timestamp": AT             when the revocation took effect (CAEP 1.0 §2)
//	"reason_admin": {"en": REASON}    the revocation's reason ("logout", "reuse",
//	                                  "password_change", "disabled", "role_change",
//	                                  "claims_change", "undeliverable", "key_revoked",
//	                                  "admin"), absent when it has none
//	                                  (CAEP 1.0 §2)
//	"latch_expires": EXP              when every access token the revocation can
//	                                  cover has expired: a receiver may forget it then
//
// # Events
//
// A session ended (revocation.KindSession): every access token whose
// "sid" is SID is revoked. The event is CAEP 1.0 §3.1 "session-revoked",
// whose subject is a complex subject (Shared Signals Framework 1.0, as in
// CAEP 1.0's examples) of the session and, when known, its user, each an
// RFC 9493 §3 Subject Identifier:
//
//	"sub_id": {"format": "complex",
//	           "session": {"format": "opaque", "id": SID},
//	           "user": {"format": "iss_sub", "iss": ISSUER, "sub": USER_ID}},
//	"events": {"https://schemas.openid.net/secevent/caep/event-type/session-revoked": {
//	           "event_timestamp": AT, "reason_admin": {"en": REASON}, "latch_expires": EXP}}
//
// One access token revoked (revocation.KindToken): the token whose "jti"
// is JTI. Its subject has the "jwt_id" format of the Shared Signals
// Framework 1.0:
//
//	"sub_id": {"format": "jwt_id", "iss": ISSUER, "jti": JTI},
//	"events": {"urn:latch:secevent:token-revoked": {
//	           "jti": JTI,
//	           "event_timestamp": AT, "reason_admin": {"en": REASON}, "latch_expires": EXP}}
//
// A user's tokens revoked (revocation.KindSubject): every access token
// whose "sub" is USER_ID and whose "iat" is at or before AT:
//
//	"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": USER_ID},
//	"events": {"urn:latch:secevent:subject-tokens-revoked": {
//	           "sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": USER_ID},
//	           "issued_at_or_before": AT,
//	           "event_timestamp": AT, "reason_admin": {"en": REASON}, "latch_expires": EXP}}
//
// A signing key revoked (revocation.KindKey): every token whose JWS
// header "kid" is KID (the key also leaves the JWKS):
//
//	"sub_id": {"format": "opaque", "id": KID},
//	"events": {"urn:latch:secevent:signing-key-revoked": {
//	           "kid": KID,
//	           "event_timestamp": AT, "reason_admin": {"en": REASON}, "latch_expires": EXP}}
//
// A receiver verifies a SET as it verifies an access token but for the
// type: with the issuer's JWKS, the algorithm pinned to the key, "typ"
// secevent+jwt, "iss" the issuer and "aud" its own client ID; it
// processes each "jti" once.
func SignSET(key *jose.Key, ev revocation.Event, p SETParams) (string, error) {
	if key == nil || !key.IsPrivate() {
		return "", fmt.Errorf("%w: a SET needs a private signing key", jose.ErrInvalidKey)
	}
	if key.IsSymmetric() {
		return "", fmt.Errorf("%w: a SET must be signed with an asymmetric key, which receivers find in the JWKS", jose.ErrInvalidKey)
	}
	payload, err := SETPayload(ev, p)
	if err != nil {
		return "", err
	}
	tok, err := jose.Sign(key, payload, jose.SignOptions{Type: SETType})
	if err != nil {
		return "", fmt.Errorf("feed: signing a SET: %w", err)
	}
	return tok, nil
}

// SETPayload returns the claims set SignSET signs for ev.
func SETPayload(ev revocation.Event, p SETParams) ([]byte, error) {
	if _, err := ev.AppendJSON(nil); err != nil { // validates ev
		return nil, err
	}
	switch {
	case p.Issuer == "" || p.Audience == "":
		return nil, errors.New("feed: a SET needs an issuer and an audience")
	case !utf8.ValidString(p.Issuer) || !utf8.ValidString(p.Audience) || !utf8.ValidString(p.UserID):
		return nil, fmt.Errorf("%w: SET parameter is not valid UTF-8", revocation.ErrMalformed)
	}
	body := setEvent{
		EventTimestamp: ev.At.Unix(),
		Expires:        ev.Expires.Unix(),
	}
	if ev.Reason != "" {
		body.ReasonAdmin = map[string]string{"en": ev.Reason}
	}
	var (
		sub  subjectID
		kind string
	)
	switch ev.Kind {
	case revocation.KindSession:
		kind = EventSessionRevoked
		sub = subjectID{Format: "complex", Session: &subjectID{Format: "opaque", ID: ev.ID}}
		if p.UserID != "" {
			sub.User = &subjectID{Format: "iss_sub", Iss: p.Issuer, Sub: p.UserID}
		}
	case revocation.KindToken:
		kind = EventTokenRevoked
		sub = subjectID{Format: "jwt_id", Iss: p.Issuer, JTI: ev.ID}
		body.JTI = ev.ID
	case revocation.KindSubject:
		kind = EventSubjectTokensRevoked
		sub = subjectID{Format: "iss_sub", Iss: p.Issuer, Sub: ev.ID}
		body.SubID = &sub
		at := ev.At.Unix()
		body.IssuedAtOrBefore = &at
	case revocation.KindKey:
		kind = EventSigningKeyRevoked
		sub = subjectID{Format: "opaque", ID: ev.ID}
		body.KID = ev.ID
	}
	b, err := json.Marshal(setClaims{
		Issuer:   p.Issuer,
		ID:       strconv.FormatInt(ev.Seq, 10),
		IssuedAt: p.IssuedAt.Unix(),
		Audience: p.Audience,
		Subject:  sub,
		Events:   map[string]setEvent{kind: body},
	})
	if err != nil {
		return nil, fmt.Errorf("feed: encoding a SET: %w", err)
	}
	return b, nil
}

// setClaims is a SET's claims set, in the order SignSET documents.
type setClaims struct {
	Issuer   string              `json:"iss"`
	ID       string              `json:"jti"`
	IssuedAt int64               `json:"iat"`
	Audience string              `json:"aud"`
	Subject  subjectID           `json:"sub_id"`
	Events   map[string]setEvent `json:"events"`
}

// subjectID is a Subject Identifier of the formats the SETs use: opaque
// and iss_sub (RFC 9493 §3), complex and jwt_id (Shared Signals
// Framework 1.0).
type subjectID struct {
	Format  string     `json:"format"`
	Iss     string     `json:"iss,omitempty"`
	Sub     string     `json:"sub,omitempty"`
	JTI     string     `json:"jti,omitempty"`
	ID      string     `json:"id,omitempty"`
	Session *subjectID `json:"session,omitempty"`
	User    *subjectID `json:"user,omitempty"`
}

// setEvent is the payload of a SET's one event.
type setEvent struct {
	JTI              string            `json:"jti,omitempty"`
	KID              string            `json:"kid,omitempty"`
	SubID            *subjectID        `json:"sub_id,omitempty"`
	IssuedAtOrBefore *int64            `json:"issued_at_or_before,omitempty"`
	EventTimestamp   int64             `json:"event_timestamp"`
	ReasonAdmin      map[string]string `json:"reason_admin,omitempty"`
	Expires          int64             `json:"latch_expires"`
}

// Defaults and bounds of poll-based delivery.
const (
	// DefaultPollWait is PollConfig.Wait's default: how long a long poll
	// waits for a SET, well under the server's 30 s write timeout.
	DefaultPollWait = 20 * time.Second
	// MaxPollEvents is the most SETs a poll returns, and the number it
	// returns when the request does not say (RFC 8936 §2.4 lets the
	// transmitter return fewer than maxEvents).
	MaxPollEvents = 100
)

// ErrInvalidPoll reports a poll request that breaks RFC 8936 §2.4: the
// server answers it 400 with the error code "invalid_request"
// (RFC 8936 §2.6). The wrapping error's text after the sentinel's says
// what is wrong and may be shown to the receiver.
var ErrInvalidPoll = errors.New("feed: invalid poll request")

// PollRequest is the JSON body of an RFC 8936 poll request (§2.2, §2.4).
type PollRequest struct {
	// Ack lists the "jti" of SETs the receiver has processed (§2.4.3).
	Ack []string `json:"ack"`
	// SetErrs reports SETs the receiver could not process, by "jti"
	// (§2.4.4). They are logged and otherwise treated as acknowledged: a
	// SET that failed once fails again.
	SetErrs map[string]SETError `json:"setErrs"`
	// MaxEvents is the most SETs to return; nil means MaxPollEvents, 0
	// an acknowledgement-only request (§2.4.2). Values above
	// MaxPollEvents mean MaxPollEvents.
	MaxEvents *int `json:"maxEvents"`
	// ReturnImmediately asks for an answer without waiting for SETs;
	// false, the default, is a long poll (§2.4).
	ReturnImmediately bool `json:"returnImmediately"`
}

// SETError is a receiver's report of a SET it could not process
// (RFC 8935 §2.3).
type SETError struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

// PollResponse is the JSON answer to a poll request (RFC 8936 §2.3,
// §2.5).
type PollResponse struct {
	// Sets maps each returned SET's "jti" to the SET; empty, never nil,
	// when there are none.
	Sets map[string]string `json:"sets"`
	// MoreAvailable reports that SETs beyond those returned wait.
	MoreAvailable bool `json:"moreAvailable"`
}

// Signer gives the key that signs now: *keyring.Ring.
type Signer interface {
	Signer() (*jose.Key, error)
}

// Cursors stores the receivers' SET cursors: the UpdateClient of
// store.Clients.
type Cursors interface {
	UpdateClient(ctx context.Context, id string, fn func(store.Client) (store.Client, error)) (store.Client, error)
}

// PollConfig configures a Poller.
type PollConfig struct {
	// Issuer is the SETs' "iss"; required.
	Issuer string
	// Keys signs the SETs with the current signing key; required.
	Keys Signer
	// Clients stores the receivers' cursors; required.
	Clients Cursors
	// Wait is the longest a long poll waits for a SET before answering
	// with none. Default DefaultPollWait.
	Wait time.Duration
	// Logger receives the receivers' SET errors; nil discards them.
	Logger *slog.Logger
	// Now gives the SETs' "iat"; nil means time.Now.
	Now func() time.Time
}

// Poller delivers the Hub's revocations as SETs to the receivers that
// poll for them (RFC 8936). It keeps no state of its own: a receiver's
// progress is its store.Client.SETCursor, so any server process on the
// same database can answer its next poll. It is safe for concurrent use.
//
// A poll first applies the request's acknowledgements ("ack" and
// "setErrs" alike). The cursor moves over the SETs after it, in Seq
// order, as long as each is acknowledged (records too malformed to have
// been delivered are stepped over), and stops at the first that is not:
// an acknowledgement above such a gap is not kept, and the SETs above the
// gap are delivered again with it, once more to be acknowledged; a
// receiver recognizes them by "jti". Acknowledgements of unknown or
// already acknowledged SETs are ignored. Then the poll returns up to
// maxEvents SETs after the cursor, oldest first, signed afresh with the
// current key.
//
// Like the feed's pages, a cursor older than the oldest record still kept
// (records are pruned once they expire) delivers from the oldest kept
// one: the SETs that were pruned meanwhile cover only tokens that have
// expired. A long poll (returnImmediately false) with no SET to return
// waits, at most Wait, for the Hub to read a new record.
type Poller struct {
	hub *Hub
	cfg PollConfig
	log *slog.Logger
}

// NewPoller returns a Poller of hub's records.
func NewPoller(hub *Hub, cfg PollConfig) (*Poller, error) {
	switch {
	case hub == nil || cfg.Keys == nil || cfg.Clients == nil:
		return nil, errors.New("feed: a poller needs a hub, keys and clients")
	case cfg.Issuer == "":
		return nil, errors.New("feed: a poller needs the issuer")
	case cfg.Wait < 0:
		return nil, errors.New("feed: negative poll wait")
	}
	if cfg.Wait == 0 {
		cfg.Wait = DefaultPollWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{hub: hub, cfg: cfg, log: log}, nil
}

// maxLoggedSETErrs bounds the setErrs logged per poll.
const maxLoggedSETErrs = 10

// Poll answers the poll request req of the authenticated receiver c (as
// read when it authenticated): it applies the acknowledgements, stores
// the cursor, and returns the SETs that follow. It returns ErrInvalidPoll
// for a request that breaks RFC 8936, the request's context error if
// the receiver went away while it waited, and store or signing failures.
func (p *Poller) Poll(ctx context.Context, c store.Client, req PollRequest) (PollResponse, error) {
	n := MaxPollEvents
	if req.MaxEvents != nil {
		if *req.MaxEvents < 0 {
			return PollResponse{}, fmt.Errorf("%w: maxEvents must be a non-negative integer", ErrInvalidPoll)
		}
		n = min(*req.MaxEvents, MaxPollEvents)
	}
	acked := make(map[int64]bool, len(req.Ack)+len(req.SetErrs))
	for _, jti := range req.Ack {
		if seq, ok := parseJTI(jti); ok {
			acked[seq] = true
		}
	}
	logged := 0
	for jti, e := range req.SetErrs {
		if seq, ok := parseJTI(jti); ok {
			acked[seq] = true
		}
		if logged++; logged <= maxLoggedSETErrs {
			p.log.WarnContext(ctx, "feed: a receiver could not process a SET", "client", c.ID,
				"jti", clip(jti, 32), "err", clip(e.Err, 64), "description", clip(e.Description, 256))
		}
	}

	cursor := c.SETCursor
	if len(acked) > 0 {
		next, err := p.advance(ctx, cursor, acked)
		if err != nil {
			return PollResponse{}, err
		}
		if next != cursor {
			stored, err := p.cfg.Clients.UpdateClient(ctx, c.ID, func(old store.Client) (store.Client, error) {
				switch {
				case old.SETCursor == cursor:
					// Also back, after a restored database (see cursor).
					old.SETCursor = next
				case old.SETCursor > cursor && next > old.SETCursor:
					// Another poll moved it meanwhile; every SET up
					// to next is acknowledged all the same.
					old.SETCursor = next
				}
				return old, nil
			})
			if err != nil {
				return PollResponse{}, fmt.Errorf("feed: storing the SET cursor: %w", err)
			}
			cursor = stored.SETCursor
		}
	}

	if n == 0 { // acknowledgement only (§2.4.2)
		recs, err := p.since(ctx, cursor, 1)
		if err != nil {
			return PollResponse{}, err
		}
		return PollResponse{Sets: map[string]string{}, MoreAvailable: len(recs) > 0}, nil
	}
	var deadline time.Time
	if !req.ReturnImmediately {
		deadline = time.Now().Add(p.cfg.Wait)
	}
	for {
		// The head before the read: a record committed after the read
		// moves the Hub's head past it.
		head := p.hub.headSeq()
		resp, err := p.collect(ctx, c.ID, cursor, n)
		if err != nil || len(resp.Sets) > 0 || req.ReturnImmediately {
			return resp, err
		}
		wctx, cancel := context.WithDeadline(ctx, deadline)
		err = p.hub.waitHead(wctx, head)
		cancel()
		if ctx.Err() != nil {
			return PollResponse{}, ctx.Err()
		}
		if err != nil { // the wait is over, or the Hub stopped
			return resp, nil
		}
	}
}

// advance returns the cursor moved over the acknowledged SETs that
// follow cursor.
func (p *Poller) advance(ctx context.Context, cursor int64, acked map[int64]bool) (int64, error) {
	limit := min(len(acked)+1, MaxPageLimit)
	recs, err := p.since(ctx, cursor, limit)
	next := cursor
	for {
		if err != nil {
			return 0, err
		}
		for _, r := range recs {
			if _, err := Event(r).AppendJSON(nil); !acked[r.Seq] && err == nil {
				return next, nil
			}
			next = r.Seq
		}
		if len(recs) < limit {
			return next, nil
		}
		recs, err = p.hub.st.RevocationsSince(ctx, next, limit)
		if err != nil {
			err = fmt.Errorf("feed: reading revocations: %w", err)
		}
	}
}

// collect returns up to n SETs after cursor for the receiver clientID.
func (p *Poller) collect(ctx context.Context, clientID string, cursor int64, n int) (PollResponse, error) {
	recs, err := p.since(ctx, cursor, n+1)
	if err != nil {
		return PollResponse{}, err
	}
	resp := PollResponse{Sets: make(map[string]string, min(len(recs), n)), MoreAvailable: len(recs) > n}
	if resp.MoreAvailable {
		recs = recs[:n]
	}
	if len(recs) == 0 {
		return resp, nil
	}
	key, err := p.cfg.Keys.Signer()
	if err != nil {
		return PollResponse{}, fmt.Errorf("feed: signing SETs: %w", err)
	}
	params := SETParams{Issuer: p.cfg.Issuer, Audience: clientID, IssuedAt: p.cfg.Now()}
	for _, r := range recs {
		params.UserID = r.UserID
		tok, err := SignSET(key, Event(r), params)
		if errors.Is(err, revocation.ErrMalformed) {
			continue // logged by the Hub, which reads every record
		}
		if err != nil {
			return PollResponse{}, err
		}
		resp.Sets[strconv.FormatInt(r.Seq, 10)] = tok
	}
	return resp, nil
}

// since returns up to limit records after cursor by the feed's cursor
// rule (see cursor): after the cursor, or from the oldest retained record
// when the cursor is beyond every Seq assigned.
func (p *Poller) since(ctx context.Context, after int64, limit int) ([]store.Revocation, error) {
	pruned, head, err := p.hub.st.RevocationBounds(ctx)
	if err != nil {
		return nil, fmt.Errorf("feed: reading bounds: %w", err)
	}
	from, _ := cursor(max(after, 0), pruned, head)
	recs, err := p.hub.st.RevocationsSince(ctx, from, limit)
	if err != nil {
		return nil, fmt.Errorf("feed: reading revocations: %w", err)
	}
	return recs, nil
}

// waitHead waits until the Hub has read a record with a Seq above after.
// It returns nil then, ctx's error when ctx ends first, and ErrStopped
// when the Hub stops.
func (h *Hub) waitHead(ctx context.Context, after int64) error {
	for {
		h.mu.Lock()
		if h.head > after {
			h.mu.Unlock()
			return nil
		}
		if h.stopped {
			h.mu.Unlock()
			return ErrStopped
		}
		if h.headMoved == nil {
			h.headMoved = make(chan struct{})
		}
		moved := h.headMoved
		h.mu.Unlock()
		select {
		case <-moved:
		case <-h.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// parseJTI parses a SET's "jti": a Seq in canonical decimal.
func parseJTI(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// clip shortens a receiver's string for the log, whose handler escapes
// what it holds.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
