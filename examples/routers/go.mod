module github.com/latch-auth/latch/examples/routers

go 1.26.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/gorilla/mux v1.8.1
	github.com/latch-auth/latch v0.0.0
)

replace github.com/latch-auth/latch => ../../
