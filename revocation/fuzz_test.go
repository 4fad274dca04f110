package revocation_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/latch-auth/latch/revocation"
)

// maxFuzzSeed leaves the vectors padded to the size limits out of the
// corpus; TestParsePageVectors and TestParseEventVectors cover them.
const maxFuzzSeed = 64 << 10

// addWireSeeds adds the inputs of vs to f's corpus.
func addWireSeeds(f *testing.F, vs []wireVector) {
	for _, v := range vs {
		if b := v.bytes(f); len(b) <= maxFuzzSeed {
			f.Add(b)
		}
	}
}

// FuzzParseEvent checks the event parser: every input is either refused as
// malformed, with the zero Event, or it is a JSON object whose members are
// exactly what encoding/json reads, and the event round-trips through its
// wire form.
func FuzzParseEvent(f *testing.F) {
	var vs eventVectors
	readWireVectors(f, "events.json", &vs)
	for _, v := range vs.Valid {
		f.Add(v.bytes(f))
	}
	addWireSeeds(f, vs.Invalid)
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := revocation.ParseEvent(in)
		if err != nil {
			if !errors.Is(err, revocation.ErrMalformed) {
				t.Fatalf("ParseEvent(%q) error %v does not match ErrMalformed", in, err)
			}
			if e != (revocation.Event{}) {
				t.Fatalf("ParseEvent(%q) returned %+v with its error", in, e)
			}
			return
		}
		checkFuzzEvent(t, in, e)
		// What encoding/json sees, names exact, is the same event.
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("ParseEvent accepted %q, which encoding/json refuses: %v", in, err)
		}
		want := map[string]any{"seq": e.Seq, "kind": string(e.Kind), "id": e.ID, "at": e.At.Unix(), "exp": e.Expires.Unix(), "reason": e.Reason}
		for name, v := range m {
			if n, ok := v.(json.Number); ok {
				v, _ = n.Int64()
			}
			if name == "reason" && v == nil {
				v = "" // encoding/json reads null as no reason, and so does ParseEvent
			}
			if w, ok := want[name]; !ok || v != w {
				t.Fatalf("ParseEvent(%q) = %+v, but encoding/json reads member %q as %v", in, e, name, v)
			}
		}

		out, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatalf("AppendJSON(%+v) (parsed from %q) error: %v", e, in, err)
		}
		again, err := revocation.ParseEvent(out)
		if err != nil {
			t.Fatalf("ParseEvent(%q) (re-encoded from %q) error: %v", out, in, err)
		}
		if !sameEvent(again, e) {
			t.Fatalf("round trip of %q through %q = %+v, want %+v", in, out, again, e)
		}
	})
}

// checkFuzzEvent checks what every parsed event satisfies.
func checkFuzzEvent(t *testing.T, in []byte, e revocation.Event) {
	t.Helper()
	switch {
	case len(in) > revocation.MaxEventSize:
		t.Fatalf("ParseEvent accepted %d bytes", len(in))
	case e.Seq <= 0:
		t.Fatalf("ParseEvent(%q) seq %d", in, e.Seq)
	case e.Kind != revocation.KindToken && e.Kind != revocation.KindSession && e.Kind != revocation.KindSubject && e.Kind != revocation.KindKey:
		t.Fatalf("ParseEvent(%q) kind %q", in, e.Kind)
	case e.ID == "" || len(e.ID) > revocation.MaxIDLength || !utf8.ValidString(e.ID):
		t.Fatalf("ParseEvent(%q) id %q", in, e.ID)
	case len(e.Reason) > 64 || !utf8.ValidString(e.Reason):
		t.Fatalf("ParseEvent(%q) reason %q", in, e.Reason)
	case e.At.Unix() < 0 || e.Expires.Unix() < 0 || e.At.Year() > 9999 || e.Expires.Year() > 9999:
		t.Fatalf("ParseEvent(%q) times %v, %v", in, e.At, e.Expires)
	case e.At.Nanosecond() != 0 || e.Expires.Nanosecond() != 0:
		t.Fatalf("ParseEvent(%q) times are not whole seconds: %v, %v", in, e.At, e.Expires)
	}
}

// FuzzParsePage checks the page parser: every input is either refused as
// malformed, with the zero Page, or it is a page whose events are in
// order and end at its cursor, and which round-trips through encoding/json.
func FuzzParsePage(f *testing.F) {
	var vs pageVectors
	readWireVectors(f, "pages.json", &vs)
	for _, v := range vs.Valid {
		f.Add(v.bytes(f))
	}
	addWireSeeds(f, vs.Invalid)
	f.Add(wirePageOf(3))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := revocation.ParsePage(in)
		if err != nil {
			if !errors.Is(err, revocation.ErrMalformed) {
				t.Fatalf("ParsePage(%q) error %v does not match ErrMalformed", in, err)
			}
			if !samePage(p, revocation.Page{}) || p.Events != nil {
				t.Fatalf("ParsePage(%q) returned %+v with its error", in, p)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("ParsePage accepted %q, which encoding/json refuses", in)
		}
		if len(p.Events) > revocation.MaxPageEvents || p.Next < 0 || p.Head < 0 {
			t.Fatalf("ParsePage(%q) = %d events, next %d, head %d", in, len(p.Events), p.Next, p.Head)
		}
		for i, e := range p.Events {
			checkFuzzEvent(t, in, e)
			if i > 0 && e.Seq <= p.Events[i-1].Seq {
				t.Fatalf("ParsePage(%q) events out of order: %d after %d", in, e.Seq, p.Events[i-1].Seq)
			}
		}
		if n := len(p.Events); n > 0 && p.Events[n-1].Seq != p.Next {
			t.Fatalf("ParsePage(%q) next %d, last seq %d", in, p.Next, p.Events[n-1].Seq)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("json.Marshal(%+v) (parsed from %q) error: %v", p, in, err)
		}
		again, err := revocation.ParsePage(out)
		if err != nil {
			t.Fatalf("ParsePage(%q) (re-encoded from %q) error: %v", out, in, err)
		}
		if !samePage(again, p) {
			t.Fatalf("round trip of %q through %q = %+v, want %+v", in, out, again, p)
		}
	})
}

// FuzzParseHeartbeat checks the heartbeat parser: every input is either
// refused as malformed, or it round-trips through encoding/json.
func FuzzParseHeartbeat(f *testing.F) {
	for _, s := range []string{
		`{"head":42,"time":1764730000}`, `{"head":0,"time":0}`, `{"time":1,"head":2}`,
		`{"head":42}`, `{"head":-1,"time":1}`, `{"head":1,"Head":2,"time":1}`, `{"head":1,"time":1,"x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := revocation.ParseHeartbeat(in)
		if err != nil {
			if !errors.Is(err, revocation.ErrMalformed) {
				t.Fatalf("ParseHeartbeat(%q) error %v does not match ErrMalformed", in, err)
			}
			if h != (revocation.Heartbeat{}) {
				t.Fatalf("ParseHeartbeat(%q) returned %+v with its error", in, h)
			}
			return
		}
		if h.Head < 0 || len(in) > revocation.MaxEventSize {
			t.Fatalf("ParseHeartbeat accepted %q as %+v", in, h)
		}
		out, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := revocation.ParseHeartbeat(out); err != nil || again != h {
			t.Fatalf("round trip of %q through %q = %+v, %v; want %+v", in, out, again, err, h)
		}
	})
}
