package revocation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
)

// MaxPageSize bounds a Page document a reader accepts, and MaxPageEvents
// the events in it; the issuer pages well under both.
const (
	MaxPageSize   = 8 << 20
	MaxPageEvents = 10_000
	// MaxEventSize bounds one event's JSON.
	MaxEventSize = 4 << 10
)

// wireEvent is Event as encoding/json sees it, after strictjson has ruled
// out duplicate names and invalid UTF-8.
type wireEvent struct {
	Seq    *int64  `json:"seq"`
	Kind   *string `json:"kind"`
	ID     *string `json:"id"`
	At     *int64  `json:"at"`
	Exp    *int64  `json:"exp"`
	Reason string  `json:"reason"`
}

func (w *wireEvent) event() (Event, error) {
	if w.Seq == nil || w.Kind == nil || w.ID == nil || w.At == nil || w.Exp == nil {
		return Event{}, fmt.Errorf("%w: event lacks seq, kind, id, at or exp", ErrMalformed)
	}
	if *w.At < 0 || *w.At > maxNumericDate || *w.Exp < 0 || *w.Exp > maxNumericDate {
		return Event{}, fmt.Errorf("%w: time outside 1970..9999", ErrMalformed)
	}
	e := Event{
		Seq: *w.Seq, Kind: Kind(*w.Kind), ID: *w.ID, Reason: w.Reason,
		At: time.Unix(*w.At, 0).UTC(), Expires: time.Unix(*w.Exp, 0).UTC(),
	}
	if err := e.check(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// ParseEvent parses one event strictly: one JSON object, no duplicate or
// unknown members (names are exact: "ID" is not "id"), every member but
// "reason" present, at most MaxEventSize bytes.
func ParseEvent(data []byte) (Event, error) {
	if len(data) > MaxEventSize {
		return Event{}, fmt.Errorf("%w: event larger than %d bytes", ErrMalformed, MaxEventSize)
	}
	var w wireEvent
	if err := decodeStrict(data, &w, eventMembers); err != nil {
		return Event{}, err
	}
	return w.event()
}

// UnmarshalJSON parses e with ParseEvent.
func (e *Event) UnmarshalJSON(data []byte) error {
	v, err := ParseEvent(data)
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// ParsePage parses a feed page strictly, as ParseEvent does its events,
// and checks that the events are in increasing Seq order and end at Next.
func ParsePage(data []byte) (Page, error) {
	if len(data) > MaxPageSize {
		return Page{}, fmt.Errorf("%w: page larger than %d bytes", ErrMalformed, MaxPageSize)
	}
	var w struct {
		Events   []json.RawMessage `json:"events"`
		Next     *int64            `json:"next"`
		More     bool              `json:"more"`
		Snapshot bool              `json:"snapshot"`
		Head     int64             `json:"head"`
	}
	if err := decodeStrict(data, &w, pageMembers); err != nil {
		return Page{}, err
	}
	if w.Next == nil || *w.Next < 0 || w.Head < 0 {
		return Page{}, fmt.Errorf("%w: page lacks a valid next cursor", ErrMalformed)
	}
	if len(w.Events) > MaxPageEvents {
		return Page{}, fmt.Errorf("%w: more than %d events in a page", ErrMalformed, MaxPageEvents)
	}
	p := Page{Next: *w.Next, More: w.More, Snapshot: w.Snapshot, Head: w.Head, Events: make([]Event, 0, len(w.Events))}
	var last int64
	for _, raw := range w.Events {
		e, err := ParseEvent(raw)
		if err != nil {
			return Page{}, err
		}
		if e.Seq <= last {
			return Page{}, fmt.Errorf("%w: events out of order", ErrMalformed)
		}
		last = e.Seq
		p.Events = append(p.Events, e)
	}
	if last != 0 && last != p.Next {
		return Page{}, fmt.Errorf("%w: next %d is not the last event's seq %d", ErrMalformed, p.Next, last)
	}
	return p, nil
}

// ParseHeartbeat parses a stream heartbeat's data.
func ParseHeartbeat(data []byte) (Heartbeat, error) {
	var w struct {
		Head *int64 `json:"head"`
		Time *int64 `json:"time"`
	}
	if len(data) > MaxEventSize {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat larger than %d bytes", ErrMalformed, MaxEventSize)
	}
	if err := decodeStrict(data, &w, heartbeatMembers); err != nil {
		return Heartbeat{}, err
	}
	if w.Head == nil || w.Time == nil || *w.Head < 0 {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat lacks head or time", ErrMalformed)
	}
	return Heartbeat{Head: *w.Head, Time: *w.Time}, nil
}

// The members of each document, by their exact names.
var (
	eventMembers     = []string{"seq", "kind", "id", "at", "exp", "reason"}
	pageMembers      = []string{"events", "next", "more", "snapshot", "head"}
	heartbeatMembers = []string{"head", "time"}
)

// decodeStrict decodes one JSON object into v: strictjson first (no
// duplicate names, valid UTF-8, bounded depth, nothing after the object)
// and every member's name, unescaped, one of names exactly; then
// encoding/json. The check of names matters: encoding/json matches them
// without regard to case, so {"id":"a","ID":"b"} would otherwise be read
// as id "b" where other parsers see "a" or refuse it.
func decodeStrict(data []byte, v any, names []string) error {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	o := strictjson.NewObject(data)
	for o.Next(data) {
		if name := o.Name(data); !slices.Contains(names, string(name)) {
			return fmt.Errorf("%w: unknown member %.40q", ErrMalformed, name)
		}
	}
	if err := o.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
