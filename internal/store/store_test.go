package store

import "testing"

func TestQualified(t *testing.T) {
	tests := []struct{ table, columns, want string }{
		{"s", "id", "s.id"},
		{"s", "id, user_id", "s.id, s.user_id"},
		{"u", "id,\n\temail, password_hash ,roles", "u.id, u.email, u.password_hash, u.roles"},
	}
	for _, tt := range tests {
		if got := Qualified(tt.table, tt.columns); got != tt.want {
			t.Errorf("Qualified(%q, %q) = %q, want %q", tt.table, tt.columns, got, tt.want)
		}
	}
}
