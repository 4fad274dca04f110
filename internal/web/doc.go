// Package web renders latch's HTML pages: sign in, consent, account,
// logout confirmation, signed out and error pages, and serves their one
// style sheet.
//
// Pages are html/template templates embedded in the binary, so every value
// a caller passes in is escaped for its context (element text, attribute,
// URL): a client name or an e-mail address can never become markup, and a
// form action that is not a safe URL is replaced by "#ZgotmplZ". The pages
// need no JavaScript, load nothing from another origin (no web fonts, no
// CDN) and carry no inline style or script, so they work under CSP, the
// Content-Security-Policy the server sends with them. The style sheet is
// served by Pages.StaticHandler at a path that contains a hash of its
// content, so it can be cached for a year and is never stale.
//
// Render functions (Pages.Login and the others) write the status and the
// Content-Type only. The server sets every other header: CSP, the
// frame, referrer and caching headers it sends with each response.
//
// Every form carries a hidden CSRF token (field CSRFField) made and checked
// by CSRF: an HMAC under a server key of the form's purpose and a random
// value held in the browser's latch_csrf cookie (HttpOnly,
// SameSite=Strict). A cross-site page can neither read the cookie nor
// compute the HMAC, so it cannot forge a form post (OWASP CSRF Prevention
// Cheat Sheet, "signed double-submit cookie").
//
// This package imports only the standard library and no other latch
// package: the server fills the data types (LoginData, ConsentData, ...)
// from its own.
package web
