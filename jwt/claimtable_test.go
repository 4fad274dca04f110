package jwt

import (
	"errors"
	"reflect"
	"testing"
	"unsafe"
)

// TestClaimTable checks that claimTable and Claims.field agree: every
// claim's field has the claim's kind, no two claims share a field or a
// name, and every field of Claims but Extra holds a claim of the table.
func TestClaimTable(t *testing.T) {
	// Fields are compared as pointers, never as uintptr addresses: a
	// uintptr is not updated when the stack holding c moves.
	c := new(Claims)
	offsets := map[unsafe.Pointer]string{}
	for id := range numClaims {
		name, kind := claimTable[id].name, claimTable[id].kind
		if got := claimByName[name]; got != id {
			t.Errorf("claimByName[%q] = %d, want %d", name, got, id)
		}
		s, tm, l, b := c.field(id)
		var p unsafe.Pointer
		var gotKinds []claimKind
		if s != nil {
			p, gotKinds = unsafe.Pointer(s), append(gotKinds, kindString)
		}
		if tm != nil {
			p, gotKinds = unsafe.Pointer(tm), append(gotKinds, kindDate)
		}
		if l != nil {
			p, gotKinds = unsafe.Pointer(l), append(gotKinds, kindList)
		}
		if b != nil {
			p, gotKinds = unsafe.Pointer(b), append(gotKinds, kindBool)
		}
		want := kind
		switch kind {
		case kindAudience:
			want = kindList
		case kindCnf:
			want = kindString
		}
		if len(gotKinds) != 1 || gotKinds[0] != want {
			t.Errorf("field(%q) has kinds %v, want %v", name, gotKinds, want)
			continue
		}
		if prev, dup := offsets[p]; dup {
			t.Errorf("claims %q and %q share a field", prev, name)
		}
		offsets[p] = name
	}
	if len(claimByName) != int(numClaims) {
		t.Errorf("claimByName has %d names, want %d: a name repeats", len(claimByName), numClaims)
	}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "Extra" {
			continue
		}
		if _, ok := offsets[v.Field(i).Addr().UnsafePointer()]; !ok {
			t.Errorf("Claims.%s holds no claim of claimTable", f.Name)
		}
	}
}

// TestExtraRepeatsClaim checks that Sign refuses extra claims that repeat
// any claim of claimTable, and takes others.
func TestExtraRepeatsClaim(t *testing.T) {
	for _, c := range claimTable {
		_, err := (&Claims{Extra: map[string]any{c.name: 1}}).appendJSON(nil)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("appendJSON with extra claim %q: error %v, want ErrMalformed", c.name, err)
		}
	}
	if _, err := (&Claims{Extra: map[string]any{"tenant": "a"}}).appendJSON(nil); err != nil {
		t.Errorf("appendJSON with extra claim tenant: %v", err)
	}
}
