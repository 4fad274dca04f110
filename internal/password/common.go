package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonList is the list of common passwords CheckPolicy refuses, one per
// line, lower case, most common first: the passwords of at least MinLength
// characters among the 47,023 most common of Mark Burnett's ten-million-
// password corpus, as zxcvbn ships them. common_passwords.md says where it
// comes from, under what terms, and how to regenerate it.
//
//go:embed common_passwords.txt
var commonList string

// commonSet is the set of commonList's lines, built on first use, so
// that a process that never checks a password, such as "latch token
// verify", does not pay for it (BenchmarkBuildCommonSet: about a
// millisecond).
var commonSet = sync.OnceValue(buildCommonSet)

func buildCommonSet() map[string]struct{} {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	set := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		set[l] = struct{}{} // a substring of commonList: no copy
	}
	return set
}

// foldPassword is the form in which CheckPolicy compares a password with
// the list and with identifiers: lower case, without surrounding white
// space, since neither makes a common password any less common.
func foldPassword(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// isCommon reports whether the folded password is on the list.
func isCommon(folded string) bool {
	_, ok := commonSet()[folded]
	return ok
}
