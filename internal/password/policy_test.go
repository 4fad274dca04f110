package password

import (
	"errors"
	"strings"
	"testing"
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
