package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// proxyList is the value of --trusted-proxies: comma-separated networks
// in CIDR notation ("10.0.0.0/8", "2001:db8::/32") or single addresses
// ("192.168.1.10", the same as /32 or /128).
type proxyList []netip.Prefix

func (l *proxyList) String() string {
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Set parses a whole list, replacing the value. A network with host bits
// set ("10.0.0.1/8") is refused rather than guessed at: it is a typo for
// either 10.0.0.0/8 or 10.0.0.1/32, and the two trust very different
// numbers of machines.
func (l *proxyList) Set(v string) error {
	var out proxyList
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return fmt.Errorf("%q is neither a network (CIDR) nor an IP address", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not a network in CIDR notation", f)
		}
		if p != p.Masked() {
			return fmt.Errorf("%q has host bits set: write %s for the network or %s for the one address", f, p.Masked(), netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
		}
		if p.Bits() == 0 {
			return fmt.Errorf("%q trusts every address: anyone could choose their own", f)
		}
		out = append(out, p)
	}
	*l = out
	return nil
}
