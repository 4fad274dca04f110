package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{name: "eight_ascii", password: "abcdefgh"},
		{name: "passphrase_with_spaces", password: "correct horse battery staple"},
		{name: "no_composition_rules", password: "aaaaaaaaaaaa"},
		{name: "eight_code_points_multibyte", password: "пароль🔑🔑"},
		{name: "leading_and_trailing_space", password: "  abcdefgh  "},
		{name: "64_characters", password: strings.Repeat("z", 64)},
		{name: "max_bytes", password: strings.Repeat("a", MaxBytes)},
		{name: "max_bytes_four_byte_runes", password: strings.Repeat("🔑", MaxBytes/4)},
		{name: "empty", password: "", want: ErrWeakPassword},
		{name: "seven_characters", password: "abcdefg", want: ErrWeakPassword},
		{name: "seven_code_points_in_more_bytes", password: "пароль🔑", want: ErrWeakPassword},
		{name: "only_spaces", password: strings.Repeat(" ", 12), want: ErrWeakPassword},
		{name: "only_unicode_white_space", password: strings.Repeat("\u3000\t\n", 4), want: ErrWeakPassword},
		{name: "invalid_utf8", password: "abcdefgh\xff", want: ErrWeakPassword},
		{name: "surrogate_half", password: "abcdefgh\xed\xa0\x80", want: ErrWeakPassword},
		{name: "one_byte_too_long", password: strings.Repeat("a", MaxBytes+1), want: ErrPasswordTooLong},
		{name: "megabyte", password: strings.Repeat("a", 1<<20), want: ErrPasswordTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPolicy(tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPolicy(%.40q) = %v, want %v", tt.password, err, tt.want)
			}
			if err == nil {
				return
			}
			if other := map[error]error{ErrWeakPassword: ErrPasswordTooLong, ErrPasswordTooLong: ErrWeakPassword}[tt.want]; errors.Is(err, other) {
				t.Errorf("CheckPolicy(%.40q) = %v, also matches %v", tt.password, err, other)
			}
			if q := strings.TrimSpace(tt.password); len(q) >= 4 && strings.Contains(err.Error(), q) {
				t.Errorf("CheckPolicy(%.40q) = %q, which quotes the password", tt.password, err)
			}
		})
	}
}

// TestCheckPolicyCommonPasswords checks the list of NIST SP 800-63B
// §5.1.1.2 ("passwords obtained from previous breach corpuses"; "commonly-
// used, expected, or compromised") against entries from the top, middle
// and end of common_passwords.txt, in any case.
func TestCheckPolicyCommonPasswords(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	if len(lines) < 10000 {
		t.Fatalf("common_passwords.txt has %d entries, want at least 10,000", len(lines))
	}
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{name: "password", password: "password", want: ErrWeakPassword},
		{name: "digits", password: "12345678", want: ErrWeakPassword},
		{name: "keyboard_row", password: "qwertyuiop", want: ErrWeakPassword},
		{name: "iloveyou", password: "iloveyou", want: ErrWeakPassword},
		{name: "upper_case", password: "PASSWORD", want: ErrWeakPassword},
		{name: "mixed_case", password: "ILoveYou", want: ErrWeakPassword},
		{name: "surrounding_space", password: " qwertyuiop ", want: ErrWeakPassword},
		{name: "list_middle", password: lines[len(lines)/2], want: ErrWeakPassword},
		{name: "list_middle_upper", password: strings.ToUpper(lines[len(lines)/2+1]), want: ErrWeakPassword},
		{name: "list_end", password: lines[len(lines)-1], want: ErrWeakPassword},
		{name: "passphrase", password: "correct horse battery staple"},
		{name: "random", password: "vX9#qL2!mT7z"},
		{name: "common_word_extended", password: "password-for-latch-2026"},
		{name: "common_with_inner_space", password: "pass word"},
		{name: "unicode", password: "пароль🔑🔑"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPolicy(tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPolicy(%q) = %v, want %v", tt.password, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "too common") {
				t.Errorf("CheckPolicy(%q) = %q, want it to say the password is too common", tt.password, err)
			}
		})
	}
}

// TestCommonPasswordsFile checks the invariants CheckPolicy relies on:
// one lower-case password per line, none shorter than MinLength (shorter
// ones are refused anyway), no white space at either end, no duplicates.
func TestCommonPasswordsFile(t *testing.T) {
	if !strings.HasSuffix(commonList, "\n") {
		t.Fatalf("common_passwords.txt does not end in a newline")
	}
	seen := map[string]int{}
	for i, l := range strings.Split(strings.TrimSuffix(commonList, "\n"), "\n") {
		switch {
		case utf8.RuneCountInString(l) < MinLength:
			t.Errorf("line %d: %q is shorter than %d characters", i+1, l, MinLength)
		case l != strings.ToLower(l):
			t.Errorf("line %d: %q is not lower case", i+1, l)
		case l != strings.TrimSpace(l):
			t.Errorf("line %d: %q has white space at an end", i+1, l)
		case seen[l] != 0:
			t.Errorf("line %d: %q repeats line %d", i+1, l, seen[l])
		}
		seen[l] = i + 1
	}
}

func TestCheckPolicyIdentifiers(t *testing.T) {
	tests := []struct {
		name        string
		password    string
		identifiers []string
		want        error
	}{
		{name: "email", password: "alice.liddell@example.com", identifiers: []string{"alice.liddell@example.com"}, want: ErrWeakPassword},
		{name: "email_other_case", password: "Alice.Liddell@Example.com", identifiers: []string{"alice.liddell@example.com"}, want: ErrWeakPassword},
		{name: "local_part", password: "alice.liddell", identifiers: []string{"alice.liddell@example.com"}, want: ErrWeakPassword},
		{name: "local_part_other_case", password: "ALICE.LIDDELL", identifiers: []string{"Alice.Liddell@example.com"}, want: ErrWeakPassword},
		{name: "second_identifier", password: "wonderland", identifiers: []string{"alice@example.com", "wonderland"}, want: ErrWeakPassword},
		{name: "contains_local_part", password: "alice.liddell in wonderland", identifiers: []string{"alice.liddell@example.com"}},
		{name: "domain", password: "example.com", identifiers: []string{"alice.liddell@example.com"}},
		{name: "unrelated", password: "correct horse battery staple", identifiers: []string{"alice.liddell@example.com"}},
		{name: "empty_identifier", password: "correct horse battery staple", identifiers: []string{""}},
		{name: "no_identifiers", password: "alice.liddell@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPolicy(tt.password, tt.identifiers...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPolicy(%q, %q) = %v, want %v", tt.password, tt.identifiers, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tt.password) {
				t.Errorf("CheckPolicy(%q, %q) = %q, which quotes the password", tt.password, tt.identifiers, err)
			}
		})
	}
}

// BenchmarkCheckPolicy measures a policy check of a password that is on
// no list, the common case at sign-up: the list lookup must cost
// microseconds at most, not a scan of the list.
func BenchmarkCheckPolicy(b *testing.B) {
	CheckPolicy("warm up the set") // built on first use
	for _, bb := range []struct{ name, password string }{
		{"accepted", "correct horse battery staple"},
		{"accepted_mixed_case", "Correct Horse Battery Staple"},
		{"common", "iloveyou"},
		{"common_list_end", "dimazarya"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				CheckPolicy(bb.password, "alice@example.com")
			}
		})
	}
}

// BenchmarkBuildCommonSet measures the one-time cost of the first check.
func BenchmarkBuildCommonSet(b *testing.B) {
	for b.Loop() {
		buildCommonSet()
	}
}
