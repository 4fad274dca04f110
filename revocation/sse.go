package revocation

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// sseMaxLine bounds one line of a feed stream: a field name, ": " and a
// value of up to MaxEventSize bytes.
const sseMaxLine = MaxEventSize + 32

// sseEvent is one event dispatched by an sseReader.
type sseEvent struct {
	name string // the "event" field; "" when there was none
	id   string // the last event ID buffer when the event was dispatched
	data []byte // the "data" lines joined by "\n"; valid until the next call
}

// sseReader reads server-sent events as the WHATWG HTML standard's
// "event stream interpretation" describes (§9.2.6), with every buffer
// bounded: a line longer than sseMaxLine or an event whose data is longer
// than MaxEventSize is an error wrapping ErrMalformed, so a broken or
// hostile server cannot make the client buffer without limit.
//
// One deviation: an event that has an "event" field but no "data" field
// is dispatched with empty data (a browser drops it), so that a bare
// "event: snapshot" still counts.
type sseReader struct {
	br      *bufio.Reader
	started bool // the optional leading BOM has been dealt with
	skipLF  bool // the last line ended in "\r": a "\n" right after it belongs to it

	line    []byte // the line being read
	data    []byte // the data buffer, each line followed by "\n"
	name    string // the event type buffer
	hasName bool
	lastID  string // the last event ID buffer; it persists across events
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, 4096)}
}

// next returns the next event. It returns io.EOF at the end of the
// stream; an incomplete event at the end is discarded, as the standard
// says.
func (s *sseReader) next() (sseEvent, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if ev, ok := s.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := s.field(line); err != nil {
			return sseEvent{}, err
		}
	}
}

// dispatch ends the event being read and reports whether there is one to
// return.
func (s *sseReader) dispatch() (sseEvent, bool) {
	if len(s.data) == 0 && !s.hasName {
		return sseEvent{}, false
	}
	ev := sseEvent{name: s.name, id: s.lastID, data: bytes.TrimSuffix(s.data, []byte{'\n'})}
	s.data = s.data[:0]
	s.name, s.hasName = "", false
	return ev, true
}

// field processes one non-empty line.
func (s *sseReader) field(line []byte) error {
	if line[0] == ':' {
		return nil // a comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		value = bytes.TrimPrefix(value, []byte{' '})
	}
	switch string(name) {
	case "event":
		s.name, s.hasName = string(value), true
	case "data":
		// The data returned is the buffer without its final "\n".
		if len(s.data)+len(value) > MaxEventSize {
			return fmt.Errorf("%w: stream event data longer than %d bytes", ErrMalformed, MaxEventSize)
		}
		s.data = append(append(s.data, value...), '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			s.lastID = string(value)
		}
	}
	// "retry" and unknown fields are ignored.
	return nil
}

// readLine returns the next line without its end ("\r\n", "\n" or "\r").
// The line is valid until the next call.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		buf, err := s.br.Peek(1) // wait for at least one byte
		if err != nil {
			if err == io.EOF && len(s.line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if !s.started {
			s.started = true
			if buf[0] == utf8BOM[0] {
				if b, _ := s.br.Peek(len(utf8BOM)); string(b) == utf8BOM {
					s.br.Discard(len(b))
				}
				continue // Peek may have moved the buffer
			}
		}
		buf, _ = s.br.Peek(s.br.Buffered())
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.br.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		if len(s.line)+n > sseMaxLine {
			return nil, fmt.Errorf("%w: stream line longer than %d bytes", ErrMalformed, sseMaxLine)
		}
		s.line = append(s.line, buf[:n]...)
		if i < 0 {
			s.br.Discard(n)
			continue
		}
		s.skipLF = buf[i] == '\r'
		s.br.Discard(i + 1)
		return s.line, nil
	}
}

const utf8BOM = "\uFEFF"
