package migration_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/f2fpay/f2fpay/internal/migration"
)

func TestLoad(t *testing.T) {
	ms, err := migration.Load(fstest.MapFS{
		"migrations/0002_more.sql": {Data: []byte("B")},
		"migrations/0001_init.sql": {Data: []byte("A")},
		"migrations/README":        {Data: []byte("ignored")},
	})
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[0].SQL != "A" || ms[1].Name != "0002_more.sql" {
		t.Fatalf("%+v %v", ms, err)
	}
	for name, files := range map[string]fstest.MapFS{
		"NNNN_description": {"migrations/init.sql": {}},
		"share version":    {"migrations/0001_a.sql": {}, "migrations/001_b.sql": {}},
	} {
		if _, err := migration.Load(files); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
