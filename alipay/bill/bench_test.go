package bill

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
)

// lazyBill is an io.Reader that writes a bill of n generated rows as it is read, so a
// test can stream a file far larger than what it keeps in memory.
type lazyBill struct {
	n, i   int
	rng    *rand.Rand
	out    bytes.Buffer
	w      *DetailWriter
	closed bool
}

func newLazyBill(n int) *lazyBill {
	l := &lazyBill{n: n, rng: rand.New(rand.NewPCG(1, 2))}
	l.w = NewDetailWriter(&l.out, testInfo)
	return l
}

func (l *lazyBill) Read(p []byte) (int, error) {
	for l.out.Len() == 0 {
		switch {
		case l.i < l.n:
			for j := 0; j < 64 && l.i < l.n; j++ {
				r := genRow(l.rng, l.i)
				if err := l.w.WriteRow(&r); err != nil {
					return 0, err
				}
				l.i++
			}
		case !l.closed:
			l.closed = true
			if err := l.w.Close(); err != nil {
				return 0, err
			}
		default:
			return 0, io.EOF
		}
	}
	return l.out.Read(p)
}

func genBill(tb testing.TB, n int) []byte {
	data, err := io.ReadAll(newLazyBill(n))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestMemoryDoesNotGrow streams a 200,000-row bill (≈50 MB) through the reader and checks
// that the live heap stays within a small bound the whole time: the reader keeps no rows.
func TestMemoryDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200,000 rows")
	}
	const rows = 200_000
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	d, err := NewDetailReader(newLazyBill(rows))
	if err != nil {
		t.Fatal(err)
	}
	var peak uint64
	n := 0
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("read %d rows, want %d", n, rows)
	}
	growth := int64(peak) - int64(base)
	t.Logf("heap in use: base %d KiB, peak %d KiB over %d rows", base>>10, peak>>10, rows)
	if growth > 4<<20 {
		t.Errorf("heap grew by %d KiB while streaming; the reader must not keep rows", growth>>10)
	}
}

var benchData = map[int][]byte{}

func benchBill(b *testing.B, n int) []byte {
	if d, ok := benchData[n]; ok {
		return d
	}
	d := genBill(b, n)
	benchData[n] = d
	return d
}

func benchmarkDetailReader(b *testing.B, rows int) {
	data := benchBill(b, rows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := drainDetail(bytes.NewReader(data))
		if err != nil || n != rows {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	total := float64(rows) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/total, "allocs/row")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/total, "B/row")
}

// BenchmarkDetailReader reads a generated 100,000-row bill from memory.
func BenchmarkDetailReader(b *testing.B) { benchmarkDetailReader(b, 100_000) }

// BenchmarkDetailReaderSize shows that the cost per row (time, allocations, bytes) does
// not depend on the size of the file.
func BenchmarkDetailReaderSize(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchmarkDetailReader(b, n) })
	}
}

// BenchmarkDetailWriter writes 100,000 rows.
func BenchmarkDetailWriter(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]DetailRow, 1000)
	for i := range rows {
		rows[i] = genRow(rng, i)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w := NewDetailWriter(io.Discard, testInfo)
		for j := 0; j < 100_000; j++ {
			if err := w.WriteRow(&rows[j%len(rows)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
