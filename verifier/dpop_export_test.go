package verifier

// ReplayCacheLen returns how many proofs c's replay cache for issuer
// remembers.
func ReplayCacheLen(c *DPoPChecker, issuer string) int {
	c.mu.Lock()
	rc := c.caches[issuer]
	c.mu.Unlock()
	if rc == nil {
		return 0
	}
	return rc.len()
}
