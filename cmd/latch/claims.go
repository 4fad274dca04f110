package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jwt"
)

// parseClaims reads a claims object for "token sign". The claims
// jwt.Claims has fields for go to them, checked for type; every other
// member goes to Extra unchanged. present reports which names were given.
// The object is read strictly: a duplicate name, invalid UTF-8 or
// trailing data is refused.
func parseClaims(data []byte) (c jwt.Claims, present map[string]bool, err error) {
	if err := strictjson.Validate(data); err != nil {
		return jwt.Claims{}, nil, fmt.Errorf("claims are not valid JSON: %v", errorText(err))
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '{' {
		return jwt.Claims{}, nil, errors.New("claims must be a JSON object")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return jwt.Claims{}, nil, fmt.Errorf("claims: %v", err)
	}
	present = make(map[string]bool, len(members))
	extra := make(map[string]json.RawMessage)
	for name, raw := range members {
		present[name] = true
		if err := setClaim(&c, name, raw, extra); err != nil {
			return jwt.Claims{}, nil, err
		}
	}
	if len(extra) > 0 {
		c.Extra = extra
	}
	return c, present, nil
}

// setClaim stores the member name: raw in its jwt.Claims field, or in
// extra.
func setClaim(c *jwt.Claims, name string, raw json.RawMessage, extra map[string]json.RawMessage) error {
	var err error
	switch name {
	case "iss":
		c.Issuer, err = stringClaim(name, raw)
	case "sub":
		c.Subject, err = stringClaim(name, raw)
	case "jti":
		c.ID, err = stringClaim(name, raw)
	case "client_id":
		c.ClientID, err = stringClaim(name, raw)
	case "sid":
		c.SessionID, err = stringClaim(name, raw)
	case "scope":
		c.Scope, err = stringClaim(name, raw)
	case "aud":
		if raw[0] == '"' {
			var s string
			s, err = stringClaim(name, raw)
			c.Audience = jwt.Audience{s}
		} else {
			c.Audience, err = stringsClaim(name, raw, "a string or an array of strings")
		}
	case "roles":
		c.Roles, err = stringsClaim(name, raw, "an array of strings")
	case "exp":
		c.ExpiresAt, err = dateClaim(name, raw)
	case "nbf":
		c.NotBefore, err = dateClaim(name, raw)
	case "iat":
		c.IssuedAt, err = dateClaim(name, raw)
	case "nonce":
		c.Nonce, err = stringClaim(name, raw)
	case "at_hash":
		c.AccessTokenHash, err = stringClaim(name, raw)
	case "azp":
		c.AuthorizedParty, err = stringClaim(name, raw)
	case "email":
		c.Email, err = stringClaim(name, raw)
	case "amr":
		c.AMR, err = stringsClaim(name, raw, "an array of strings")
	case "auth_time":
		c.AuthTime, err = dateClaim(name, raw)
	case "email_verified":
		c.EmailVerified, err = boolClaim(name, raw)
	default:
		extra[name] = raw
	}
	return err
}

// The values are valid JSON (checked by parseClaims), so the first byte
// tells the kind.

func stringClaim(name string, raw json.RawMessage) (string, error) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("claim %s must be a string", name)
	}
	return s, nil
}

func stringsClaim(name string, raw json.RawMessage, want string) ([]string, error) {
	var ss []string
	if raw[0] != '[' || json.Unmarshal(raw, &ss) != nil {
		return nil, fmt.Errorf("claim %s must be %s", name, want)
	}
	return ss, nil
}

func boolClaim(name string, raw json.RawMessage) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("claim %s must be true or false", name)
}

// dateClaim reads a NumericDate in whole seconds.
func dateClaim(name string, raw json.RawMessage) (time.Time, error) {
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return time.Time{}, fmt.Errorf("claim %s must be a number (seconds since 1970)", name)
	}
	sec, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("claim %s must be a whole number of seconds since 1970", name)
	}
	return time.Unix(sec, 0), nil
}
