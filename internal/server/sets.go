package server

import (
	"net/http"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/store"
)

// handleRevocationPoll serves POST /v1/revocations/poll: poll-based
// delivery of the revocation feed as Security Event Tokens (RFC 8936),
// to a client authenticated with client_secret_basic that holds
// revocations:read. The body is a feed.PollRequest,
//
//	{"ack": ["41"], "setErrs": {"40": {"err": "...", "description": "..."}},
//	 "maxEvents": 10, "returnImmediately": true}
//
// every member optional, and the answer a feed.PollResponse,
//
//	{"sets": {"42": "eyJ...", "43": "eyJ..."}, "moreAvailable": false}
//
// whose SETs feed.SignSET describes. feed.Poller says how
// acknowledgements move the client's cursor. A refused request is 400
// (413, 415) {"err": "invalid_request", "description": ...} (RFC 8936
// §2.6); failed client authentication is the server's usual 401
// invalid_client, a missing scope 403 insufficient_scope.
func (s *Server) handleRevocationPoll(w http.ResponseWriter, r *http.Request, c store.Client) {
	var req feed.PollRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, setPollError(err))
		return
	}
	resp, err := s.poller.Poll(r.Context(), c, req)
	if err != nil {
		s.writeError(w, r, setPollError(err))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
