package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"tim/internal/config"
)

// readVariables returns the TIM_* variables load.go reads.
func readVariables(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("load.go")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(TIM_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		read[m[1]] = true
	}
	return read
}

// fieldDocs returns the comment of every setting of the structs in
// config.go, by "Type.Field"; the sections themselves are left out. A field
// without a comment of its own shares the one above it (SendRate and
// SendBurst).
func fieldDocs(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := spec.Type.(*ast.StructType)
		if !ok {
			return false
		}
		doc := ""
		for _, field := range st.Fields.List {
			if id, ok := field.Type.(*ast.Ident); ok && id.IsExported() {
				doc = "" // a section, declared in this file
				continue
			}
			if field.Doc != nil {
				doc = field.Doc.Text()
			}
			for _, name := range field.Names {
				docs[spec.Name.Name+"."+name.Name] = doc
			}
		}
		return false
	})
	return docs
}

// changed returns the settings that differ between a and b, each as
// "Type.Field" of the struct that holds it.
func changed(a, b config.Config) []string {
	var out []string
	var walk func(a, b reflect.Value)
	walk = func(a, b reflect.Value) {
		typ := a.Type()
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == typ.PkgPath() {
				walk(a.Field(i), b.Field(i)) // a section
				continue
			}
			if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
				out = append(out, typ.Name()+"."+f.Name)
			}
		}
	}
	walk(reflect.ValueOf(a), reflect.ValueOf(b))
	return out
}

// TestEveryFieldNamesItsVariableAndDefault: each variable sets exactly one
// field; that field's comment names the variable and its default; and
// every field is set by a variable.
func TestEveryFieldNamesItsVariableAndDefault(t *testing.T) {
	t.Parallel()
	docs := fieldDocs(t)
	read := readVariables(t)
	set := map[string]string{} // field → variable
	for _, s := range settings {
		value := s.value
		if s.key == "TIM_NATS_NKEY" {
			value = "/etc/tim/tim.nk"
		}
		// The other variables this one needs, so that only it differs.
		base := map[string]string{}
		if strings.HasPrefix(s.key, "TIM_NATS_") && s.key != "TIM_NATS_URL" {
			base["TIM_NATS_URL"] = "nats://n:4222"
		}
		if s.key == "TIM_NATS_CERT" || s.key == "TIM_NATS_KEY" { // both or neither
			base["TIM_NATS_CERT"], base["TIM_NATS_KEY"] = "/etc/tim/other-cert.pem", "/etc/tim/other-key.pem"
		}
		before, err := load(base)
		if err != nil {
			t.Fatalf("%s: %v", s.key, err)
		}
		with := maps.Clone(base)
		with[s.key] = value
		after, err := load(with)
		if err != nil {
			t.Fatalf("%s=%s: %v", s.key, value, err)
		}
		fields := changed(before, after)
		if len(fields) != 1 {
			t.Errorf("%s=%s changed %q, want one field", s.key, value, fields)
			continue
		}
		field := fields[0]
		if other, dup := set[field]; dup {
			t.Errorf("%s and %s both set %s", other, s.key, field)
		}
		set[field] = s.key
		doc, ok := docs[field]
		switch {
		case !ok:
			t.Errorf("%s sets %s, which config.go does not declare", s.key, field)
		case !strings.Contains(doc, s.key):
			t.Errorf("%s: its comment does not name %s:\n%s", field, s.key, doc)
		case !strings.Contains(strings.ToLower(doc), "default") && !strings.Contains(doc, "Empty:"):
			t.Errorf("%s: its comment gives no default (\"Default ...\" or \"Empty: ...\"):\n%s", field, doc)
		}
	}
	for field := range docs {
		if _, ok := set[field]; !ok {
			t.Errorf("%s: no variable sets it", field)
		}
	}
	if len(set) < 50 || len(set) != len(read) {
		t.Errorf("%d fields set by %d variables load.go reads", len(set), len(read))
	}
}

// TestReadmeListsEveryVariable: the README's configuration table has a
// row for every variable Load reads, and for no other.
func TestReadmeListsEveryVariable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const heading = "\n## Configuration\n"
	_, section, ok := strings.Cut(string(b), heading)
	if !ok {
		t.Fatalf("README.md has no %q", strings.TrimSpace(heading))
	}
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	for line := range strings.Lines(section) {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`TIM_") {
			continue
		}
		for _, v := range regexp.MustCompile(`TIM_[A-Z0-9_]+`).FindAllString(cells[1], -1) {
			listed[v] = true
		}
	}
	read := readVariables(t)
	for v := range read {
		if !listed[v] {
			t.Errorf("load.go reads %s, which the README's configuration table does not list", v)
		}
	}
	for v := range listed {
		if !read[v] {
			t.Errorf("the README's configuration table lists %s, which load.go does not read", v)
		}
	}
	if len(listed) < 50 {
		t.Errorf("the README's configuration table lists %d variables: %q", len(listed), slices.Sorted(maps.Keys(listed)))
	}
}
