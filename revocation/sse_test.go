package revocation

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAllSSE reads every event of a stream and the error that ended it.
func readAllSSE(r io.Reader) ([]sseEvent, error) {
	s := newSSEReader(r)
	var out []sseEvent
	for {
		ev, err := s.next()
		if err != nil {
			return out, err
		}
		ev.data = bytes.Clone(ev.data)
		out = append(out, ev)
	}
}

func sseEqual(a, b []sseEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || a[i].id != b[i].id || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
	}
	return true
}

func sseEv(name, id, data string) sseEvent { return sseEvent{name: name, id: id, data: []byte(data)} }

var sseTests = []struct {
	name string
	in   string
	want []sseEvent
	err  error // what ends the stream
}{
	{"empty", "", nil, io.EOF},
	{"one event", "event: revocation\nid: 1\ndata: {}\n\n", []sseEvent{sseEv("revocation", "1", "{}")}, io.EOF},
	{"CRLF", "event: a\r\ndata: x\r\n\r\n", []sseEvent{sseEv("a", "", "x")}, io.EOF},
	{"CR", "event: a\rdata: x\r\rdata: y\r\r", []sseEvent{sseEv("a", "", "x"), sseEv("", "", "y")}, io.EOF},
	{"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", []sseEvent{sseEv("", "", "a\nb\nc")}, io.EOF},
	{"data lines join", "data: a\ndata: b\ndata\n\n", []sseEvent{sseEv("", "", "a\nb\n")}, io.EOF},
	{"only one space is stripped", "data:  two\ndata:none\n\n", []sseEvent{sseEv("", "", " two\nnone")}, io.EOF},
	{"value may hold colons", "data: a: b\n\n", []sseEvent{sseEv("", "", "a: b")}, io.EOF},
	{"empty data dispatches", "data:\n\n", []sseEvent{sseEv("", "", "")}, io.EOF},
	{"comments are ignored", ": hello\n:\ndata: x\n: mid\n\n", []sseEvent{sseEv("", "", "x")}, io.EOF},
	{"comment alone does not dispatch", ": keepalive\n\n", nil, io.EOF},
	{"blank lines alone do not dispatch", "\n\n\r\n\r", nil, io.EOF},
	{"id persists", "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
		[]sseEvent{sseEv("", "7", "a"), sseEv("", "7", "b"), sseEv("", "", "c")}, io.EOF},
	{"id with NUL is ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
		[]sseEvent{sseEv("", "1", "a"), sseEv("", "1", "b")}, io.EOF},
	{"retry and unknown fields are ignored", "retry: 10\nfoo: bar\nDATA: no\ndata: x\n\n", []sseEvent{sseEv("", "", "x")}, io.EOF},
	{"event name resets after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", []sseEvent{sseEv("a", "", "1"), sseEv("", "", "2")}, io.EOF},
	{"named event without data dispatches", "event: snapshot\n\n", []sseEvent{sseEv("snapshot", "", "")}, io.EOF},
	{"BOM is stripped", "\uFEFFdata: x\n\n", []sseEvent{sseEv("", "", "x")}, io.EOF},
	{"only a leading BOM is stripped", "data: x\n\n\uFEFFdata: y\n\n", []sseEvent{sseEv("", "", "x")}, io.EOF},
	{"incomplete event is discarded", "data: x\n\ndata: y\n", []sseEvent{sseEv("", "", "x")}, io.EOF},
	{"cut line", "data: x\n\ndata: y", []sseEvent{sseEv("", "", "x")}, io.ErrUnexpectedEOF},
	{"longest data", "data: " + strings.Repeat("a", MaxEventSize) + "\n\n",
		[]sseEvent{sseEv("", "", strings.Repeat("a", MaxEventSize))}, io.EOF},
	{"longest data in lines", strings.Repeat("data: "+strings.Repeat("a", 1023)+"\n", 4) + "data: \n\n",
		[]sseEvent{sseEv("", "", strings.Repeat(strings.Repeat("a", 1023)+"\n", 4))}, io.EOF},
	{"data too long", "data: " + strings.Repeat("a", MaxEventSize+1) + "\n\n", nil, ErrMalformed},
	{"data too long in lines", strings.Repeat("data: "+strings.Repeat("a", 1024)+"\n", 4) + "data: \n\n", nil, ErrMalformed},
	{"line too long", ":" + strings.Repeat("a", sseMaxLine) + "\n\n", nil, ErrMalformed},
	{"longest line", ":" + strings.Repeat("a", sseMaxLine-1) + "\ndata: x\n\n", []sseEvent{sseEv("", "", "x")}, io.EOF},
}

func TestSSEReader(t *testing.T) {
	for _, tt := range sseTests {
		t.Run(tt.name, func(t *testing.T) {
			readers := []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.in)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tt.in))},
			}
			for _, r := range readers {
				got, err := readAllSSE(r.r)
				if !sseEqual(got, tt.want) {
					t.Errorf("%s: events = %q, want %q", r.name, got, tt.want)
				}
				if !errors.Is(err, tt.err) {
					t.Errorf("%s: error = %v, want %v", r.name, err, tt.err)
				}
			}
		})
	}
}

// sseEndless is an unending stream of one pattern that counts what was read.
type sseEndless struct {
	pattern []byte
	read    int
}

func (e *sseEndless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], e.pattern[(e.read+n)%len(e.pattern):])
	}
	e.read += n
	return n, nil
}

// TestSSEBounded: a server that never ends a line or an event makes the
// reader fail after one bound's worth, with bounded buffers, rather than
// read and buffer forever.
func TestSSEBounded(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
	}{
		{"endless line", "a"},
		{"endless comment", ":aaaaaaa"},
		{"endless data field", "data: aaaaaaaaaaaaaaaa"},
		{"endless event", "data: aaaaaaaaaaaaaaaa\n"},
		{"endless event CRLF", "data: a\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &sseEndless{pattern: []byte(tt.pattern)}
			s := newSSEReader(src)
			_, err := s.next()
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("next() error = %v, want %v", err, ErrMalformed)
			}
			// Each pattern adds at least one byte to a line or the data.
			if limit := sseMaxLine*len(tt.pattern) + 4096; src.read > limit {
				t.Errorf("read %d bytes before failing, want at most %d", src.read, limit)
			}
			if c := cap(s.line) + cap(s.data); c > 4*sseMaxLine {
				t.Errorf("buffers grew to %d bytes", c)
			}
		})
	}
}

// writeSSE writes an event in canonical form.
func writeSSE(name, id, data string) string {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	b.WriteString("id: " + id + "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// FuzzSSE: on any input the reader neither panics nor returns data over
// the bound, and an event written in canonical form reads back as itself.
func FuzzSSE(f *testing.F) {
	for _, tt := range sseTests {
		f.Add([]byte(tt.in), "revocation", "1", "{}")
	}
	f.Add([]byte("event: heartbeat\ndata: {\"head\":1,\"time\":2}\n\n"), "heartbeat", "", "{\"head\":1}")
	f.Add([]byte("data: a\rb\r\n"), "", "7\x00", "a\nb")
	f.Fuzz(func(t *testing.T, in []byte, name, id, data string) {
		s := newSSEReader(bytes.NewReader(in))
		for {
			ev, err := s.next()
			if err != nil {
				break
			}
			if len(ev.data) > MaxEventSize || len(ev.name) > sseMaxLine || len(ev.id) > sseMaxLine {
				t.Fatalf("event over the bound: name %d, id %d, data %d bytes", len(ev.name), len(ev.id), len(ev.data))
			}
		}

		if strings.ContainsAny(name, "\r\n") || strings.ContainsAny(id, "\r\n\x00") ||
			strings.Contains(data, "\r") || len(data) > MaxEventSize ||
			len(name) > MaxEventSize || len(id) > MaxEventSize {
			return // not representable
		}
		want := []sseEvent{sseEv(name, id, data)}
		got, err := readAllSSE(strings.NewReader(writeSSE(name, id, data)))
		if !sseEqual(got, want) || err != io.EOF {
			t.Fatalf("round trip of %q = %q, %v; want %q, EOF", writeSSE(name, id, data), got, err, want)
		}
	})
}
