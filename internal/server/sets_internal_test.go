package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/strictjson"
)

// FuzzPollRequest checks the parsing of RFC 8936 poll requests: a body is
// either refused as RFC 8936 §2.6 says (400 or 413 "invalid_request" in
// the {"err", "description"} form) or is strict JSON whose request
// round-trips.
func FuzzPollRequest(f *testing.F) {
	for _, seed := range []string{
		// The shapes of RFC 8936 §2.4.1 to §2.4.4.
		`{"returnImmediately":true}`,
		`{"maxEvents":0,"ack":["4d3559ec67504aaba65d40b0363faad8","3d0c3cf797584bd193bd0fb1bd4e7d30"]}`,
		`{"ack":["4d3559ec67504aaba65d40b0363faad8"],"returnImmediately":false}`,
		`{"ack":["3d0c3cf797584bd193bd0fb1bd4e7d30"],"setErrs":{"4d3559ec67504aaba65d40b0363faad8":{"err":"authentication_failed","description":"The SET could not be authenticated"}},"returnImmediately":true,"maxEvents":10}`,
		`{}`,
		`{"ack":null,"setErrs":null,"maxEvents":null}`,
		`{"maxEvents":-1}`,
		`{"maxEvents":1e2}`,
		`{"ack":[],"ack":[]}`,
		`{"setErrs":{"1":{"err":"x","extra":1}}}`,
		`{"ack":["\ud800"]}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	s := &Server{cfg: Config{MaxBody: DefaultMaxBody}}
	decode := func(body []byte) (feed.PollRequest, error) {
		r := httptest.NewRequest("POST", "/v1/revocations/poll", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req feed.PollRequest
		err := s.decodeJSON(httptest.NewRecorder(), r, &req)
		return req, err
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decode(body)
		if err != nil {
			ae := errorFor(setPollError(err))
			if !ae.set || ae.code != "invalid_request" || ae.desc == "" || (ae.status != http.StatusBadRequest && ae.status != http.StatusRequestEntityTooLarge) {
				t.Fatalf("decoding %q: %v maps to %+v, want an RFC 8936 invalid_request", body, err, ae)
			}
			return
		}
		if err := strictjson.Validate(body); err != nil {
			t.Fatalf("decoding %q accepted a body strictjson refuses: %v", body, err)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := decode(again)
		if err != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("%q decodes to %+v, which encodes to %s, which decodes to %+v, %v", body, req, again, req2, err)
		}
	})
}
