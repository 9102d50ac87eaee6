package bill

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

const generatedFixture = "testdata/generated_trade_20170831.csv.zip"

func generatedRows() []DetailRow {
	rng := rand.New(rand.NewPCG(2017, 831))
	rows := make([]DetailRow, 50)
	for i := range rows {
		rows[i] = genRow(rng, i)
	}
	return rows
}

// TestGeneratedFixture: the committed zip (made by this helper with -update-seeds) holds
// the CSVs the writer produces today, and reads back to the rows it was made from. A
// change to the writer's bytes shows up here as a diff to review.
func TestGeneratedFixture(t *testing.T) {
	rows := generatedRows()
	fresh := tradeZip(t, rows)
	if *updateSeeds {
		if err := os.WriteFile(generatedFixture, fresh, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(generatedFixture)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGeneratedFixture -update-seeds)", err)
	}
	// Compare entry contents, not zip bytes: deflate output may change between Go
	// versions.
	a, b := entries(t, committed), entries(t, fresh)
	if len(a) != 2 || len(a) != len(b) {
		t.Fatalf("%d entries committed, %d fresh", len(a), len(b))
	}
	for i := range a {
		if a[i].name != b[i].name || !bytes.Equal(a[i].data, b[i].data) {
			t.Errorf("entry %d (%s) differs from the writer's output", i, a[i].name)
		}
	}

	arc, err := OpenZip(bytes.NewReader(committed), int64(len(committed)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := arc.OpenDetail()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := 0; ; i++ {
		r, err := d.Next()
		if err == io.EOF {
			if i != len(rows) {
				t.Fatalf("%d rows, want %d", i, len(rows))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if *r != rows[i] {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, *r, rows[i])
		}
	}
	if err := d.Verify(); err != nil {
		t.Error(err)
	}
}

type namedData struct {
	name string
	data []byte
}

func entries(t *testing.T, zipData []byte) []namedData {
	t.Helper()
	a, err := OpenZip(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		t.Fatal(err)
	}
	var out []namedData
	for _, e := range a.Entries {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedData{e.Name, data})
	}
	return out
}
