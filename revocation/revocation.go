// Package revocation brings an issuer's revocations to the services that
// verify its tokens: the events of latch's revocation feed, their wire
// format, an in-memory deny list the verifier checks every token against,
// and a client that follows the feed. It depends on the standard library
// and latch's public packages only.
//
// # Events
//
// An Event revokes, until it Expires, every access token that
//
//   - KindToken: has "jti" equal to ID;
//   - KindSession: has "sid" equal to ID (the login session ended);
//   - KindSubject: has "sub" equal to ID and "iat" at or before At (the
//     user logged out everywhere, changed password, was disabled, or had
//     their roles changed: a later token carries the new roles);
//   - KindKey: was signed by the key whose "kid" is ID (emergency key
//     revocation; the key also leaves the issuer's JWKS).
//
// Revocations are never undone. Expires is when every token the event can
// cover has expired (the issuer's longest access-token lifetime plus clock
// skew after At), so entries, and the feed itself, stay small.
//
// # The feed
//
// Each event has a sequence number, Seq, assigned by the issuer: strictly
// increasing in commit order, never reused. Readers keep the Seq of the
// last event they applied as their cursor. The issuer serves, to clients
// authenticated with HTTP Basic (client_secret_basic, RFC 6749 §2.3.1)
// that hold the scope "revocations:read":
//
//	GET {feed}?after=SEQ[&limit=N]   a JSON Page of the events after SEQ
//	GET {feed}/stream?after=SEQ      the same events as Server-Sent Events,
//	                                 then new ones as they are committed
//
// where {feed} is the issuer's "/v1/revocations". The stream resumes from
// the Last-Event-ID request header when present (it wins over "after"),
// as an EventSource does on reconnect. Its events are
//
//	event: revocation      id: SEQ, data: an Event as JSON
//	event: heartbeat       no id, data: {"head": SEQ, "time": UNIX}, sent
//	                       once the stream has caught up and then at every
//	                       heartbeat interval, so a reader knows it is
//	                       current and can tell a dead connection
//
// Records are pruned once they expire, and not always in Seq order. When
// records after a reader's cursor were pruned, the issuer says so
// (Page.Snapshot, or an "event: snapshot" first on the stream) and sends
// the retained records after the cursor: what was pruned had expired, so
// with what the reader holds they are every revocation in force, a
// snapshot. A reader that is new (cursor 0) gets every retained record.
// A cursor beyond every Seq the issuer has assigned (its database was
// replaced) is answered from the start, also as a snapshot, and the
// reader takes the events that follow whatever their Seq. A reader never
// has to drop what it holds: an event it kept past pruning has merely
// expired.
//
// A slow stream reader is disconnected rather than buffered without
// bound; it reconnects with its cursor and loses nothing.
package revocation

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
)

// Kind is what an Event revokes.
type Kind string

// The kinds of revocation.
const (
	KindToken   Kind = "token"   // one token, by "jti"
	KindSession Kind = "session" // a session's tokens, by "sid"
	KindSubject Kind = "subject" // a user's tokens issued at or before At, by "sub"
	KindKey     Kind = "key"     // every token signed by a key, by "kid"
)

// Errors.
var (
	// ErrRevoked reports a token covered by a revocation. The error
	// DenyList.Check returns wraps it with the kind ("revocation: token
	// revoked: session revoked").
	ErrRevoked = errors.New("revocation: token revoked")
	// ErrMalformed reports a feed document or event that does not parse.
	ErrMalformed = errors.New("revocation: malformed feed data")
)

// MaxIDLength bounds an Event's ID; longer ones are malformed.
const MaxIDLength = 256

// Event is one revocation as it travels on the feed. Its JSON form is
//
//	{"seq":42,"kind":"session","id":"9f2c...","at":1764730000,"exp":1764730900,"reason":"logout"}
//
// with times in whole seconds since the epoch (NumericDate).
type Event struct {
	Seq     int64     // "seq": position in the feed; > 0
	Kind    Kind      // "kind"
	ID      string    // "id": the jti, sid, sub or kid revoked
	At      time.Time // "at": when it was revoked (whole seconds)
	Expires time.Time // "exp": when every token it covers has expired
	// Reason is informational: "logout", "reuse", "password_change",
	// "disabled", "role_change", "claims_change", "undeliverable",
	// "key_revoked", "admin".
	Reason string // "reason"
}

// Page is the JSON answer of GET {feed}?after=SEQ:
//
//	{"events":[...],"next":42,"more":false,"snapshot":false,"head":42}
type Page struct {
	Events []Event `json:"events"`
	// Next is the cursor for the following request: the Seq of the last
	// event in Events or, when there are none, of the last record read
	// (the request's "after" if none was; 0 after a cursor beyond head).
	Next int64 `json:"next"`
	// More reports that events after Next exist already.
	More bool `json:"more"`
	// Snapshot reports that records after the cursor were pruned (they
	// had expired), or that the cursor was beyond every Seq and Events
	// start from the oldest retained record: see the package doc.
	Snapshot bool `json:"snapshot"`
	// Head is the newest Seq the issuer had assigned when it answered.
	Head int64 `json:"head"`
}

// Heartbeat is the data of a stream's heartbeat event.
type Heartbeat struct {
	Head int64 `json:"head"`
	Time int64 `json:"time"` // unix seconds
}

// maxNumericDate is 9999-12-31T23:59:59Z, as in package jwt.
const maxNumericDate = 253402300799

// MarshalJSON encodes e in its wire form.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil)
}

// AppendJSON appends e's wire form to dst.
func (e Event) AppendJSON(dst []byte) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, e.Seq, 10)
	dst = append(dst, `,"kind":`...)
	dst = strconv.AppendQuote(dst, string(e.Kind))
	dst = append(dst, `,"id":`...)
	var err error
	if dst, err = strictjson.AppendQuoted(dst, e.ID); err != nil {
		return nil, fmt.Errorf("%w: id is not valid UTF-8", ErrMalformed)
	}
	dst = append(dst, `,"at":`...)
	dst = strconv.AppendInt(dst, e.At.Unix(), 10)
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, e.Expires.Unix(), 10)
	if e.Reason != "" {
		dst = append(dst, `,"reason":`...)
		if dst, err = strictjson.AppendQuoted(dst, e.Reason); err != nil {
			return nil, fmt.Errorf("%w: reason is not valid UTF-8", ErrMalformed)
		}
	}
	return append(dst, '}'), nil
}

// check reports an event that must not be sent or applied.
func (e Event) check() error {
	switch {
	case e.Seq <= 0:
		return fmt.Errorf("%w: seq %d is not positive", ErrMalformed, e.Seq)
	case e.Kind != KindToken && e.Kind != KindSession && e.Kind != KindSubject && e.Kind != KindKey:
		return fmt.Errorf("%w: unknown kind %.32q", ErrMalformed, e.Kind)
	case e.ID == "" || len(e.ID) > MaxIDLength:
		return fmt.Errorf("%w: id must be 1 to %d bytes", ErrMalformed, MaxIDLength)
	case e.At.Unix() < 0 || e.At.Unix() > maxNumericDate || e.Expires.Unix() < 0 || e.Expires.Unix() > maxNumericDate:
		return fmt.Errorf("%w: time outside 1970..9999", ErrMalformed)
	case len(e.Reason) > 64:
		return fmt.Errorf("%w: reason longer than 64 bytes", ErrMalformed)
	}
	return nil
}
