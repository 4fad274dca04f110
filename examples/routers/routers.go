// Package routers shows latch's verifier with chi and gorilla/mux. It is a
// module of its own so that neither router enters latch's go.mod.
//
// Both routers take plain net/http middleware, so Verifier.Require and
// verifier.RequireScope mount as they are, with no adapter:
//
//	r := chi.NewRouter()
//	r.Use(v.Require)
//	r.With(verifier.RequireScope("orders:write")).Post("/orders/{id}", handler)
//
// Handlers read the claims with verifier.FromContext(r.Context()) and the
// path parameter with chi.URLParam or mux.Vars.
package routers

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	"github.com/latch-auth/latch/verifier"
)

// Chi is the orders service on chi.
func Chi(v *verifier.Verifier) http.Handler {
	r := chi.NewRouter()
	r.Use(v.Require)
	r.Get("/orders/{id}", order(func(r *http.Request) string { return chi.URLParam(r, "id") }))
	r.With(verifier.RequireScope("orders:write")).
		Post("/orders/{id}", order(func(r *http.Request) string { return chi.URLParam(r, "id") }))
	return r
}

// Gorilla is the orders service on gorilla/mux.
func Gorilla(v *verifier.Verifier) http.Handler {
	r := mux.NewRouter()
	r.Use(v.Require)
	id := func(r *http.Request) string { return mux.Vars(r)["id"] }
	r.Handle("/orders/{id}", order(id)).Methods(http.MethodGet)
	r.Handle("/orders/{id}", verifier.RequireScope("orders:write")(order(id))).Methods(http.MethodPost)
	return r
}

// order answers with the order id from the path and the token's subject.
func order(id func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		claims, ok := verifier.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"order": id(r), "customer": claims.Subject})
	}
}
