package revocation_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/revocation"
)

// wireVector is one input of testdata/events.json or testdata/pages.json.
type wireVector struct {
	Name        string `json:"name"`
	Input       string `json:"input"`
	InputBase64 string `json:"input_base64"` // for inputs that are not valid UTF-8
	PadTo       int    `json:"pad_to"`       // pad Input with spaces to this many bytes
	// GenerateEvents stands for a well-formed page of this many events.
	GenerateEvents int    `json:"generate_events"`
	Reason         string `json:"reason"` // why an invalid input must be refused
}

// bytes returns the input the vector stands for.
func (v wireVector) bytes(tb testing.TB) []byte {
	tb.Helper()
	var b []byte
	switch {
	case v.GenerateEvents > 0:
		b = wirePageOf(v.GenerateEvents)
	case v.InputBase64 != "":
		var err error
		if b, err = base64.StdEncoding.DecodeString(v.InputBase64); err != nil {
			tb.Fatalf("vector %q: %v", v.Name, err)
		}
	default:
		b = []byte(v.Input)
	}
	if n := v.PadTo - len(b); n > 0 {
		b = append(b, bytes.Repeat([]byte(" "), n)...)
	}
	return b
}

// wirePageOf returns a well-formed page of n token events.
func wirePageOf(n int) []byte {
	b := []byte(`{"events":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"seq":%d,"kind":"token","id":"j%d","at":1764730000,"exp":1764730900}`, i, i)
	}
	return fmt.Appendf(b, `],"next":%d,"more":false,"snapshot":false,"head":%d}`, n, n)
}

// wireEventWant is an Event as the vectors write it.
type wireEventWant struct {
	Seq    int64  `json:"seq"`
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	At     int64  `json:"at"`
	Exp    int64  `json:"exp"`
	Reason string `json:"reason"`
}

func (w wireEventWant) event() revocation.Event {
	return revocation.Event{
		Seq: w.Seq, Kind: revocation.Kind(w.Kind), ID: w.ID, Reason: w.Reason,
		At: time.Unix(w.At, 0).UTC(), Expires: time.Unix(w.Exp, 0).UTC(),
	}
}

type eventVectors struct {
	Description string `json:"description"`
	Valid       []struct {
		wireVector
		Want wireEventWant `json:"want"`
	} `json:"valid"`
	Invalid []wireVector `json:"invalid"`
}

type pageVectors struct {
	Description string `json:"description"`
	Valid       []struct {
		wireVector
		Want struct {
			Seqs     []int64 `json:"seqs"`
			Next     int64   `json:"next"`
			More     bool    `json:"more"`
			Snapshot bool    `json:"snapshot"`
			Head     int64   `json:"head"`
		} `json:"want"`
	} `json:"valid"`
	Invalid []wireVector `json:"invalid"`
}

// readWireVectors decodes testdata/name into v.
func readWireVectors(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("testdata/%s: %v", name, err)
	}
}

// sameEvent compares events as the wire carries them: times to the second
// and in any location.
func sameEvent(a, b revocation.Event) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.ID == b.ID && a.Reason == b.Reason &&
		a.At.Equal(b.At) && a.Expires.Equal(b.Expires)
}

// samePage compares pages field by field, events with sameEvent; a nil
// and an empty Events are the same.
func samePage(a, b revocation.Page) bool {
	if a.Next != b.Next || a.More != b.More || a.Snapshot != b.Snapshot || a.Head != b.Head || len(a.Events) != len(b.Events) {
		return false
	}
	for i := range a.Events {
		if !sameEvent(a.Events[i], b.Events[i]) {
			return false
		}
	}
	return true
}

func TestParseEventVectors(t *testing.T) {
	var vs eventVectors
	readWireVectors(t, "events.json", &vs)
	if len(vs.Valid) == 0 || len(vs.Invalid) == 0 {
		t.Fatal("no vectors in testdata/events.json")
	}
	for _, v := range vs.Valid {
		t.Run("valid/"+v.Name, func(t *testing.T) {
			in := v.bytes(t)
			got, err := revocation.ParseEvent(in)
			if err != nil {
				t.Fatalf("ParseEvent(%q) error: %v", in, err)
			}
			if want := v.Want.event(); !sameEvent(got, want) {
				t.Errorf("ParseEvent(%q) = %+v, want %+v", in, got, want)
			}
			if got.At.Location() != time.UTC || got.Expires.Location() != time.UTC {
				t.Errorf("ParseEvent(%q) times are not in UTC: %v, %v", in, got.At, got.Expires)
			}
			// Round trip: the wire form of the event parses back to it,
			// and encoding again gives the same bytes.
			out, err := got.AppendJSON(nil)
			if err != nil {
				t.Fatalf("AppendJSON(%+v) error: %v", got, err)
			}
			again, err := revocation.ParseEvent(out)
			if err != nil {
				t.Fatalf("ParseEvent(%q) (re-encoded from %q) error: %v", out, in, err)
			}
			if !sameEvent(again, got) {
				t.Errorf("round trip of %q through %q = %+v, want %+v", in, out, again, got)
			}
			if out2, _ := again.AppendJSON(nil); !bytes.Equal(out2, out) {
				t.Errorf("AppendJSON is not stable: %q, then %q", out, out2)
			}
			// encoding/json reaches the same event through UnmarshalJSON.
			var viaJSON revocation.Event
			if err := json.Unmarshal(in, &viaJSON); err != nil {
				t.Fatalf("json.Unmarshal(%q) error: %v", in, err)
			}
			if !sameEvent(viaJSON, got) {
				t.Errorf("json.Unmarshal(%q) = %+v, want %+v", in, viaJSON, got)
			}
		})
	}
	for _, v := range vs.Invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			in := v.bytes(t)
			got, err := revocation.ParseEvent(in)
			if err == nil {
				t.Fatalf("ParseEvent(%.200q) = %+v, want an error: %s", in, got, v.Reason)
			}
			if !errors.Is(err, revocation.ErrMalformed) {
				t.Errorf("ParseEvent(%.200q) error %v does not match ErrMalformed", in, err)
			}
			if got != (revocation.Event{}) {
				t.Errorf("ParseEvent(%.200q) returned %+v with its error, want the zero Event", in, got)
			}
			var e revocation.Event
			if err := e.UnmarshalJSON(in); !errors.Is(err, revocation.ErrMalformed) {
				t.Errorf("Event.UnmarshalJSON(%.200q) = %v, want an error matching ErrMalformed", in, err)
			}
		})
	}
}

func TestParsePageVectors(t *testing.T) {
	var vs pageVectors
	readWireVectors(t, "pages.json", &vs)
	if len(vs.Valid) == 0 || len(vs.Invalid) == 0 {
		t.Fatal("no vectors in testdata/pages.json")
	}
	for _, v := range vs.Valid {
		t.Run("valid/"+v.Name, func(t *testing.T) {
			in := v.bytes(t)
			got, err := revocation.ParsePage(in)
			if err != nil {
				t.Fatalf("ParsePage(%q) error: %v", in, err)
			}
			var seqs []int64
			for _, e := range got.Events {
				seqs = append(seqs, e.Seq)
			}
			w := v.Want
			if fmt.Sprint(seqs) != fmt.Sprint(w.Seqs) || got.Next != w.Next || got.More != w.More ||
				got.Snapshot != w.Snapshot || got.Head != w.Head {
				t.Errorf("ParsePage(%q) = seqs %v next %d more %v snapshot %v head %d, want seqs %v next %d more %v snapshot %v head %d",
					in, seqs, got.Next, got.More, got.Snapshot, got.Head, w.Seqs, w.Next, w.More, w.Snapshot, w.Head)
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("json.Marshal(%+v) error: %v", got, err)
			}
			again, err := revocation.ParsePage(out)
			if err != nil {
				t.Fatalf("ParsePage(%q) (re-encoded from %q) error: %v", out, in, err)
			}
			if !samePage(again, got) {
				t.Errorf("round trip of %q through %q = %+v, want %+v", in, out, again, got)
			}
		})
	}
	for _, v := range vs.Invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			in := v.bytes(t)
			got, err := revocation.ParsePage(in)
			if err == nil {
				t.Fatalf("ParsePage(%.200q) = %+v, want an error: %s", in, got, v.Reason)
			}
			if !errors.Is(err, revocation.ErrMalformed) {
				t.Errorf("ParsePage(%.200q) error %v does not match ErrMalformed", in, err)
			}
			if !samePage(got, revocation.Page{}) || got.Events != nil {
				t.Errorf("ParsePage(%.200q) returned %+v with its error, want the zero Page", in, got)
			}
		})
	}
}

// TestParsePageLimits checks the bounds at which pages are refused: the
// largest page and the most events accepted, and one more.
func TestParsePageLimits(t *testing.T) {
	most := wirePageOf(revocation.MaxPageEvents)
	if p, err := revocation.ParsePage(most); err != nil || len(p.Events) != revocation.MaxPageEvents {
		t.Errorf("ParsePage(%d events) = %d events, %v; want them all", revocation.MaxPageEvents, len(p.Events), err)
	}
	largest := append(wirePageOf(1), bytes.Repeat([]byte(" "), revocation.MaxPageSize-len(wirePageOf(1)))...)
	if _, err := revocation.ParsePage(largest); err != nil {
		t.Errorf("ParsePage(%d bytes) error: %v", len(largest), err)
	}
	if _, err := revocation.ParsePage(append(largest, ' ')); !errors.Is(err, revocation.ErrMalformed) {
		t.Errorf("ParsePage(%d bytes) = %v, want an error matching ErrMalformed", len(largest)+1, err)
	}
	event := []byte(`{"seq":1,"kind":"token","id":"j","at":1,"exp":2}`)
	event = append(event, bytes.Repeat([]byte(" "), revocation.MaxEventSize-len(event))...)
	if _, err := revocation.ParseEvent(event); err != nil {
		t.Errorf("ParseEvent(%d bytes) error: %v", len(event), err)
	}
	if _, err := revocation.ParseEvent(append(event, ' ')); !errors.Is(err, revocation.ErrMalformed) {
		t.Errorf("ParseEvent(%d bytes) = %v, want an error matching ErrMalformed", len(event)+1, err)
	}
}

func TestEventMarshalJSON(t *testing.T) {
	at := time.Unix(1764730000, 0)
	e := revocation.Event{Seq: 42, Kind: revocation.KindSession, ID: "9f2c", At: at, Expires: at.Add(15 * time.Minute), Reason: "logout"}
	const want = `{"seq":42,"kind":"session","id":"9f2c","at":1764730000,"exp":1764730900,"reason":"logout"}`
	got, err := e.MarshalJSON()
	if err != nil || string(got) != want {
		t.Errorf("MarshalJSON() = %s, %v; want %s", got, err, want)
	}
	got, err = json.Marshal(e)
	if err != nil || string(got) != want {
		t.Errorf("json.Marshal(event) = %s, %v; want %s", got, err, want)
	}
	got, err = e.AppendJSON([]byte("data: "))
	if err != nil || string(got) != "data: "+want {
		t.Errorf("AppendJSON(prefix) = %s, %v; want %s", got, err, "data: "+want)
	}
	noReason := e
	noReason.Reason = ""
	const wantNoReason = `{"seq":42,"kind":"session","id":"9f2c","at":1764730000,"exp":1764730900}`
	if got, err := noReason.MarshalJSON(); err != nil || string(got) != wantNoReason {
		t.Errorf("MarshalJSON() without reason = %s, %v; want %s", got, err, wantNoReason)
	}
}

// TestEventMarshalJSONRefuses checks that an event that must not travel is
// not encoded: the issuer cannot publish what readers refuse.
func TestEventMarshalJSONRefuses(t *testing.T) {
	at := time.Unix(1764730000, 0)
	valid := revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "j1", At: at, Expires: at.Add(time.Hour)}
	tests := []struct {
		name   string
		change func(*revocation.Event)
	}{
		{"seq 0", func(e *revocation.Event) { e.Seq = 0 }},
		{"seq negative", func(e *revocation.Event) { e.Seq = -1 }},
		{"unknown kind", func(e *revocation.Event) { e.Kind = "user" }},
		{"empty kind", func(e *revocation.Event) { e.Kind = "" }},
		{"kind with a quote", func(e *revocation.Event) { e.Kind = `token","id":"x` }},
		{"empty id", func(e *revocation.Event) { e.ID = "" }},
		{"id over MaxIDLength", func(e *revocation.Event) { e.ID = strings.Repeat("a", revocation.MaxIDLength+1) }},
		{"id not UTF-8", func(e *revocation.Event) { e.ID = "j\xff" }},
		{"reason not UTF-8", func(e *revocation.Event) { e.Reason = "r\xff" }},
		{"reason over 64 bytes", func(e *revocation.Event) { e.Reason = strings.Repeat("r", 65) }},
		{"zero At", func(e *revocation.Event) { e.At = time.Time{} }},
		{"zero Expires", func(e *revocation.Event) { e.Expires = time.Time{} }},
		{"At before 1970", func(e *revocation.Event) { e.At = time.Unix(-1, 0) }},
		{"Expires after 9999", func(e *revocation.Event) { e.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid
			tt.change(&e)
			if got, err := e.MarshalJSON(); !errors.Is(err, revocation.ErrMalformed) || got != nil {
				t.Errorf("MarshalJSON(%+v) = %q, %v; want nil and an error matching ErrMalformed", e, got, err)
			}
			if got, err := e.AppendJSON([]byte("prefix")); err == nil || got != nil {
				t.Errorf("AppendJSON(%+v) = %q, %v; want nil and an error", e, got, err)
			}
			if got, err := json.Marshal(e); !errors.Is(err, revocation.ErrMalformed) {
				t.Errorf("json.Marshal(%+v) = %q, %v; want an error matching ErrMalformed", e, got, err)
			}
			if _, err := json.Marshal(revocation.Page{Events: []revocation.Event{valid, e}, Next: 1}); !errors.Is(err, revocation.ErrMalformed) {
				t.Errorf("json.Marshal(page with %+v) = %v, want an error matching ErrMalformed", e, err)
			}
		})
	}
}

// TestPageMarshalJSON checks that encoding/json writes a Page in its wire
// form, events included, and that ParsePage reads it back.
func TestPageMarshalJSON(t *testing.T) {
	at := time.Unix(1764730000, 0)
	p := revocation.Page{
		Events: []revocation.Event{
			{Seq: 41, Kind: revocation.KindToken, ID: "j1", At: at, Expires: at.Add(time.Hour)},
			{Seq: 42, Kind: revocation.KindSubject, ID: "u<1>", At: at, Expires: at.Add(time.Hour), Reason: "role_change"},
		},
		Next: 42, More: true, Snapshot: true, Head: 50,
	}
	const want = `{"events":[` +
		`{"seq":41,"kind":"token","id":"j1","at":1764730000,"exp":1764733600},` +
		`{"seq":42,"kind":"subject","id":"u\u003c1\u003e","at":1764730000,"exp":1764733600,"reason":"role_change"}` +
		`],"next":42,"more":true,"snapshot":true,"head":50}`
	got, err := json.Marshal(p)
	if err != nil || string(got) != want {
		t.Fatalf("json.Marshal(%+v) = %s, %v; want %s", p, got, err, want)
	}
	back, err := revocation.ParsePage(got)
	if err != nil || !samePage(back, p) {
		t.Errorf("ParsePage(%s) = %+v, %v; want %+v", got, back, err, p)
	}
	empty := revocation.Page{Events: []revocation.Event{}, Next: 7, Head: 7}
	const wantEmpty = `{"events":[],"next":7,"more":false,"snapshot":false,"head":7}`
	if got, err := json.Marshal(empty); err != nil || string(got) != wantEmpty {
		t.Errorf("json.Marshal(empty page) = %s, %v; want %s", got, err, wantEmpty)
	}
}

func TestParseHeartbeat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want revocation.Heartbeat
		ok   bool
	}{
		{name: "ok", in: `{"head":42,"time":1764730000}`, want: revocation.Heartbeat{Head: 42, Time: 1764730000}, ok: true},
		{name: "empty feed", in: `{"head":0,"time":1764730000}`, want: revocation.Heartbeat{Time: 1764730000}, ok: true},
		{name: "whitespace and order", in: " {\"time\": 5, \"head\": 1}\n", want: revocation.Heartbeat{Head: 1, Time: 5}, ok: true},
		{name: "missing head", in: `{"time":1764730000}`},
		{name: "missing time", in: `{"head":42}`},
		{name: "negative head", in: `{"head":-1,"time":1764730000}`},
		{name: "duplicate head", in: `{"head":42,"head":43,"time":1764730000}`},
		{name: "escaped duplicate", in: `{"head":42,"\u0068ead":43,"time":1764730000}`},
		{name: "unknown member", in: `{"head":42,"time":1764730000,"seq":1}`},
		{name: "member name in another case", in: `{"Head":42,"time":1764730000}`},
		{name: "head as a string", in: `{"head":"42","time":1764730000}`},
		{name: "trailing data", in: `{"head":42,"time":1764730000} {}`},
		{name: "not an object", in: `[42,1764730000]`},
		{name: "null", in: `null`},
		{name: "empty", in: ``},
		{name: "over MaxEventSize", in: `{"head":42,"time":1764730000}` + strings.Repeat(" ", revocation.MaxEventSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := revocation.ParseHeartbeat([]byte(tt.in))
			switch {
			case tt.ok && (err != nil || got != tt.want):
				t.Errorf("ParseHeartbeat(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			case !tt.ok && !errors.Is(err, revocation.ErrMalformed):
				t.Errorf("ParseHeartbeat(%q) = %+v, %v; want an error matching ErrMalformed", tt.in, got, err)
			case !tt.ok && got != (revocation.Heartbeat{}):
				t.Errorf("ParseHeartbeat(%q) returned %+v with its error, want the zero Heartbeat", tt.in, got)
			}
		})
	}
}
