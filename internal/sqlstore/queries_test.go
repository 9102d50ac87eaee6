package sqlstore

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestLoad loads both stores' statement files: every statement of Queries defined
// once, the column lists expanded, the placeholders in the dialect's style.
func TestLoad(t *testing.T) {
	for _, d := range []struct {
		file  string
		p     byte
		other string
	}{{"../../sqlite/queries.sql", '?', "$"}, {"../../postgres/queries.sql", '$', "?"}} {
		b, err := os.ReadFile(d.file)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Load(string(b), d.p)
		if err != nil {
			t.Fatalf("%s: %v", d.file, err)
		}
		v := reflect.ValueOf(q).Elem()
		for i := range v.NumField() {
			s, name := v.Field(i).String(), v.Type().Field(i).Name
			if strings.ContainsAny(s, "{}") || strings.Contains(s, d.other) || strings.HasSuffix(s, ";") {
				t.Errorf("%s: %s is not rendered: %s", d.file, name, s)
			}
		}
		if _, err := Load(string(b)+"\n-- name: FindOrder\nSELECT 1;\n", d.p); err == nil {
			t.Errorf("%s: a statement defined twice was accepted", d.file)
		}
		if _, err := Load(string(b)+"\n-- name: NoSuchStatement\nSELECT 1;\n", d.p); err == nil {
			t.Errorf("%s: an unknown statement was accepted", d.file)
		}
		if _, err := Load("", d.p); err == nil {
			t.Errorf("%s: missing statements were accepted", d.file)
		}
	}
}
