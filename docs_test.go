package latch

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// metricsSource defines the server's Prometheus metrics.
const metricsSource = "internal/server/metrics.go"

// serverMetrics parses metricsSource for the metrics it defines: their
// names (from the Name of a prometheus.*Opts and the first argument of
// prometheus.NewDesc) with their label names, and whether each is a
// histogram.
func serverMetrics(t *testing.T) (labels map[string][]string, histogram map[string]bool) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), metricsSource, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	labels, histogram = map[string][]string{}, map[string]bool{}
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	strs := func(e ast.Expr) []string {
		lit, ok := e.(*ast.CompositeLit)
		if !ok {
			return nil
		}
		var out []string
		for _, el := range lit.Elts {
			if s, ok := str(el); ok {
				out = append(out, s)
			}
		}
		return out
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		switch fn := sel.Sel.Name; {
		case fn == "NewDesc" && len(call.Args) >= 3:
			if name, ok := str(call.Args[0]); ok {
				labels[name] = strs(call.Args[2])
			}
		case strings.HasPrefix(fn, "New") && len(call.Args) >= 1:
			opts, ok := call.Args[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, el := range opts.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if id, isID := kv.Key.(*ast.Ident); !ok || !isID || id.Name != "Name" {
					continue
				}
				if name, ok := str(kv.Value); ok {
					if len(call.Args) >= 2 {
						labels[name] = strs(call.Args[1])
					} else {
						labels[name] = nil
					}
					histogram[name] = strings.HasPrefix(fn, "NewHistogram")
				}
			}
		}
		return true
	})
	if len(labels) == 0 {
		t.Fatalf("found no metric definitions in %s", metricsSource)
	}
	return labels, histogram
}

// selector matches a latch metric and its label matchers, if any.
var (
	selector = regexp.MustCompile(`\b(latch_[a-z0-9_]+)(\{[^}]*\})?`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
)

// TestDocsMetricsExist checks every latch metric that docs/operations.md
// and the Grafana dashboard query: the metric is defined in the server,
// the labels it is selected by are its own, and a label value it must
// equal occurs as a string in the server's source (so that a renamed
// outcome or route breaks this test, not an alert at night).
func TestDocsMetricsExist(t *testing.T) {
	labels, histogram := serverMetrics(t)

	md, err := os.ReadFile("docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	dashboard, err := os.ReadFile("docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(dashboard, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) < 10 {
		t.Fatalf("docs/grafana-dashboard.json: %d queries, want a dashboard", len(exprs))
	}

	// Label values must be strings of the server's code: outcomes and
	// routes in internal/server, reasons in internal/feed and internal/store.
	var source strings.Builder
	for _, glob := range []string{"internal/server/*.go", "internal/feed/*.go", "internal/store/*.go"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			source.Write(b)
		}
	}

	sources := map[string]string{"docs/operations.md": string(md), "docs/grafana-dashboard.json": strings.Join(exprs, "\n")}
	for file, text := range sources {
		seen := 0
		for _, m := range selector.FindAllStringSubmatch(text, -1) {
			seen++
			name, sel := m[1], m[2]
			base, own := name, []string{"instance", "job"}
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && histogram[b] {
					base = b
					if suffix == "_bucket" {
						own = append(own, "le")
					}
				}
			}
			l, ok := labels[base]
			if !ok {
				t.Errorf("%s: metric %s is not defined in %s", file, name, metricsSource)
				continue
			}
			own = append(own, l...)
			for _, mm := range matcher.FindAllStringSubmatch(sel, -1) {
				label, op, value := mm[1], mm[2], mm[3]
				if !slices.Contains(own, label) {
					t.Errorf("%s: %s%s: %s has no label %q", file, name, sel, base, label)
					continue
				}
				switch label {
				case "instance", "job", "le":
					continue
				case "code": // strconv.Itoa of the status
					if !regexp.MustCompile(`^[1-5][0-9.]{2}$`).MatchString(value) {
						t.Errorf("%s: %s%s: code %s%q is no HTTP status", file, name, sel, op, value)
					}
					continue
				}
				for _, v := range strings.Split(value, "|") {
					if strings.ContainsAny(v, `.*+?[]()^$\`) {
						continue // a pattern, such as code=~"5.."
					}
					if !strings.Contains(source.String(), strconv.Quote(v)) {
						t.Errorf("%s: %s%s: value %q of label %s appears nowhere in the server's source", file, name, sel, v, label)
					}
				}
			}
		}
		if seen == 0 {
			t.Errorf("%s names no latch metric; this test would check nothing", file)
		}
	}

	// Every metric the server defines is on the dashboard.
	for name := range labels {
		if !strings.Contains(sources["docs/grafana-dashboard.json"], name) {
			t.Errorf("docs/grafana-dashboard.json does not show %s", name)
		}
	}
}

// cliSource is the latch command's source directory.
const cliSource = "cmd/latch"

// cliNames parses cliSource for the names of latch's commands (the name
// of every command literal) and of its flags (the name argument of every
// flag.FlagSet definition).
func cliNames(t *testing.T) (commands, flags map[string]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(cliSource, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	commands, flags = map[string]bool{}, map[string]bool{}
	// The position of the name among a definition's arguments.
	nameArg := map[string]int{
		"String": 0, "Bool": 0, "Int": 0, "Int64": 0, "Uint": 0, "Float64": 0, "Duration": 0, "Func": 0, "BoolFunc": 0,
		"StringVar": 1, "BoolVar": 1, "IntVar": 1, "Int64Var": 1, "UintVar": 1, "Float64Var": 1, "DurationVar": 1, "Var": 1, "TextVar": 1,
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); !ok || id.Name != "command" {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "name" {
							if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
								name, _ := strconv.Unquote(lit.Value)
								commands[name] = true
							}
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				i, ok := nameArg[sel.Sel.Name]
				if !ok || len(n.Args) <= i+1 {
					return true
				}
				if lit, ok := n.Args[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, _ := strconv.Unquote(lit.Value)
					flags[name] = true
				}
			}
			return true
		})
	}
	if len(commands) == 0 || len(flags) == 0 {
		t.Fatalf("found %d commands and %d flags in %s", len(commands), len(flags), cliSource)
	}
	return commands, flags
}

var (
	codeSpan   = regexp.MustCompile("`[^`\n]+`")
	invocation = regexp.MustCompile(`\blatch ([a-z]+)`)
	flagName   = regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`)
)

// TestDocsCommandsExist checks the latch commands and flags that
// docs/operations.md names, in code spans and code blocks: every
// "latch WORD" is a command, and every --flag after it, or alone in a
// code span, is a flag of the latch command. (Flags of other programs,
// such as pg_dump's, are on lines that run no latch command.)
func TestDocsCommandsExist(t *testing.T) {
	commands, flags := cliNames(t)
	md, err := os.ReadFile("docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var code []string // code spans, and the lines of code blocks
	inBlock := false
	for line := range strings.Lines(string(md)) {
		line = strings.TrimRight(line, "\n")
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			code = append(code, line)
			continue
		}
		for _, span := range codeSpan.FindAllString(line, -1) {
			code = append(code, strings.Trim(span, "`"))
		}
	}
	seen := 0
	for _, c := range code {
		rest := ""
		if loc := invocation.FindStringSubmatchIndex(c); loc != nil {
			if cmd := c[loc[2]:loc[3]]; !commands[cmd] {
				t.Errorf("docs/operations.md: %q: latch has no command %q", c, cmd)
			}
			rest = c[loc[1]:]
			seen++
		} else if strings.HasPrefix(c, "--") {
			rest = c
		}
		for _, m := range flagName.FindAllStringSubmatch(rest, -1) {
			seen++
			if !flags[m[1]] && m[1] != "help" { // every command has --help
				t.Errorf("docs/operations.md: %q: latch has no flag --%s", c, m[1])
			}
		}
	}
	if seen == 0 {
		t.Error("docs/operations.md names no latch command or flag; this test would check nothing")
	}
}
