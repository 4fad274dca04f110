// Package ginexample shows latch's verifier in a gin application. It is a
// module of its own so that gin never enters latch's go.mod.
//
// The verifier's middleware is plain net/http; Adapt runs it as gin
// middleware, so a gin route gets exactly the same checks and the same 401
// and 403 answers (RFC 6750) as a net/http one:
//
//	r.GET("/orders/:id",
//		ginexample.Adapt(v.Require),
//		ginexample.Adapt(verifier.RequireScope("orders:read")),
//		handler)
//
// Handlers read the claims with verifier.FromContext(c.Request.Context()),
// or Claims(c).
package ginexample

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// Adapt turns net/http middleware, such as Verifier.Require or
// verifier.RequireScope, into gin middleware. When mw passes the request
// on, the rest of the chain runs with mw's request (and so its context);
// when mw answers itself, the chain is aborted.
func Adapt(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// Claims returns the verified claims of the request, which Adapt(v.Require)
// stored in its context.
func Claims(c *gin.Context) (jwt.Claims, bool) {
	return verifier.FromContext(c.Request.Context())
}

// Router is the orders service of examples/microservices, on gin.
func Router(v *verifier.Verifier) *gin.Engine {
	r := gin.New()
	authed := r.Group("/", Adapt(v.Require))
	authed.GET("/orders/:id", Adapt(verifier.RequireScope("orders:read")), func(c *gin.Context) {
		claims, _ := Claims(c)
		c.JSON(http.StatusOK, gin.H{"order": c.Param("id"), "customer": claims.Subject})
	})
	authed.POST("/orders", Adapt(verifier.RequireRole("clerk")), func(c *gin.Context) {
		claims, _ := Claims(c)
		c.JSON(http.StatusCreated, gin.H{"order": "new", "clerk": claims.Subject})
	})
	return r
}
