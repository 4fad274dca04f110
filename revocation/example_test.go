package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// A resource service follows its issuer's revocation feed for as long as
// it runs, and checks every token that verified against the follower's
// deny list.
func ExampleFollower() {
	// A stand-in for the issuer's feed: one revocation, then a heartbeat
	// saying the stream has caught up.
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/revocations/stream" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: revocation\nid: 1\n"+
			`data: {"seq":1,"kind":"session","id":"s_9f2c","at":1764730000,"exp":4102444800,"reason":"logout"}`+"\n\n"+
			"event: heartbeat\n"+
			`data: {"head":1,"time":1764730005}`+"\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer issuer.Close()

	f, err := revocation.NewFollower(revocation.FollowerConfig{
		URL:          issuer.URL + "/v1/revocations",
		ClientID:     "orders-api",
		ClientSecret: "s3cret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Wait, within reason, until revocations are in force.
	select {
	case <-f.Ready():
	case <-time.After(10 * time.Second):
		fmt.Println("issuer unreachable: every request will see Stale")
	}

	// For each request, after the token's signature and claims checked out:
	claims := &jwt.Claims{Subject: "u_42", SessionID: "s_9f2c", ID: "t_1"}
	if f.Stale(time.Now(), 2*time.Minute) {
		fmt.Println("revocations out of date: refuse the request, or alert")
		return
	}
	err = f.List().Check("k1", claims)
	fmt.Println(errors.Is(err, revocation.ErrRevoked))
	fmt.Println(f.Stats().Cursor)
	// Output:
	// true
	// 1
}
