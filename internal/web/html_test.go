package web_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// node is an element of a parsed page.
type node struct {
	tag      string
	attr     map[string]string
	order    []string // attribute names, as written
	parent   *node
	children []*node
	text     strings.Builder // text of the element and its descendants
}

// parseHTML parses a page the templates made. The standard library has
// no HTML parser; encoding/xml in its lenient mode, told HTML's void
// elements and entities, reads these pages (which close every non-void
// element) into a tree good enough to find elements and attributes.
func parseHTML(t *testing.T, page string) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &node{tag: "#document", attr: map[string]string{}}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse page: %v\n%s", err, page)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{tag: strings.ToLower(tok.Name.Local), attr: map[string]string{}, parent: cur}
			for _, a := range tok.Attr {
				name := strings.ToLower(a.Name.Local)
				if a.Name.Space != "" {
					name = strings.ToLower(a.Name.Space) + ":" + name
				}
				if _, dup := n.attr[name]; dup {
					t.Errorf("<%s> has attribute %s twice", n.tag, name)
				}
				n.attr[name] = a.Value
				n.order = append(n.order, name)
			}
			cur.children = append(cur.children, n)
			cur = n
		case xml.EndElement:
			if cur.parent == nil {
				t.Fatalf("parse page: stray </%s>", tok.Name.Local)
			}
			cur = cur.parent
		case xml.CharData:
			for n := cur; n != nil; n = n.parent {
				n.text.Write(tok)
			}
		}
	}
	if cur != root {
		t.Fatalf("parse page: <%s> not closed", cur.tag)
	}
	return root
}

// all returns the elements under n (n included) for which match is true,
// in document order.
func (n *node) all(match func(*node) bool) []*node {
	var res []*node
	var walk func(*node)
	walk = func(m *node) {
		if match(m) {
			res = append(res, m)
		}
		for _, c := range m.children {
			walk(c)
		}
	}
	walk(n)
	return res
}

// tagged returns the elements with tag under n.
func (n *node) tagged(tag string) []*node {
	return n.all(func(m *node) bool { return m.tag == tag })
}

// byID returns the element with id under n, or nil.
func (n *node) byID(id string) *node {
	for _, m := range n.all(func(m *node) bool { return m.attr["id"] == id }) {
		return m
	}
	return nil
}

// has reports whether the element has attribute name.
func (n *node) has(name string) bool {
	_, ok := n.attr[name]
	return ok
}

// form returns the form that contains n, or nil.
func (n *node) form() *node {
	for m := n.parent; m != nil; m = m.parent {
		if m.tag == "form" {
			return m
		}
	}
	return nil
}

// content returns the element's text with white space collapsed.
func (n *node) content() string {
	return strings.Join(strings.Fields(n.text.String()), " ")
}

// hiddenInputs returns the hidden inputs of form f by name; a name that
// occurs twice is an error.
func hiddenInputs(t *testing.T, f *node) map[string]string {
	t.Helper()
	res := map[string]string{}
	for _, in := range f.tagged("input") {
		if in.attr["type"] != "hidden" {
			continue
		}
		name := in.attr["name"]
		if _, dup := res[name]; dup {
			t.Errorf("form %s has hidden input %q twice", f.attr["action"], name)
		}
		res[name] = in.attr["value"]
	}
	return res
}
