// Package echoexample shows latch's verifier in an Echo application. It
// is a module of its own so that Echo never enters latch's go.mod.
//
// The verifier's middleware is plain net/http, which Echo adapts with
// echo.WrapMiddleware; a route gets exactly the same checks and the same
// 401 and 403 answers (RFC 6750) as a net/http one:
//
//	e.GET("/orders/:id", handler,
//		echo.WrapMiddleware(v.Require),
//		echo.WrapMiddleware(verifier.RequireScope("orders:read")))
//
// Handlers read the claims with verifier.FromContext(c.Request().Context()),
// or Claims(c).
package echoexample

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// Claims returns the verified claims of the request, which v.Require
// stored in its context.
func Claims(c echo.Context) (jwt.Claims, bool) {
	return verifier.FromContext(c.Request().Context())
}

// New is the orders service of examples/microservices, on Echo.
func New(v *verifier.Verifier) *echo.Echo {
	e := echo.New()
	authed := e.Group("", echo.WrapMiddleware(v.Require))
	authed.GET("/orders/:id", func(c echo.Context) error {
		claims, _ := Claims(c)
		return c.JSON(http.StatusOK, map[string]string{"order": c.Param("id"), "customer": claims.Subject})
	}, echo.WrapMiddleware(verifier.RequireScope("orders:read")))
	authed.POST("/orders", func(c echo.Context) error {
		claims, _ := Claims(c)
		return c.JSON(http.StatusCreated, map[string]string{"order": "new", "clerk": claims.Subject})
	}, echo.WrapMiddleware(verifier.RequireRole("clerk")))
	return e
}
