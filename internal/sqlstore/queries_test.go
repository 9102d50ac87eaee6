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

// TestAuditLogAppendOnly: no statement of either store changes or removes an audit
// entry (the migrations' triggers refuse it too; the stores' tests try).
func TestAuditLogAppendOnly(t *testing.T) {
	for _, file := range []string{"queries.sql", "../../sqlite/queries.sql", "../../postgres/queries.sql"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Join(strings.Fields(strings.ToLower(string(b))), " ")
		for _, bad := range []string{"update audit_log", "delete from audit_log", "truncate audit_log", "replace into audit_log"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s: %q: the audit log is append-only", file, bad)
			}
		}
		if n := strings.Count(s, "into audit_log"); n > 1 || (n == 1 && !strings.Contains(s, "-- name: appendaudit")) {
			t.Errorf("%s writes audit_log %d times; only AppendAudit may", file, n)
		}
	}
}
