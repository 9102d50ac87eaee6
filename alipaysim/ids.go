package alipaysim

import (
	"strings"
	"time"
)

// beijing is UTC+8: Alipay writes every time (timestamp, gmt_*, trade_no's date prefix)
// in Beijing time, whatever the host's zone, and the sandbox must not need tzdata.
var beijing = time.FixedZone("CST", 8*3600)

const timeLayout = "2006-01-02 15:04:05"

func fmtTime(t time.Time) string { return t.In(beijing).Format(timeLayout) }

// idgen derives identifiers from the seed and a persisted sequence number: the same seed
// replays the same ids, and a restarted sandbox continues the sequence instead of
// reissuing ids it already gave out.
type idgen struct {
	seed uint64
	meta *Meta // owned by the current transaction
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// digits returns n pseudo-random decimal digits.
func (g *idgen) digits(n int) string {
	var b strings.Builder
	b.Grow(n)
	g.meta.Seq++
	x := splitmix(g.seed ^ splitmix(g.meta.Seq))
	for i := 0; i < n; i++ {
		if i > 0 && i%18 == 0 {
			x = splitmix(x)
		}
		b.WriteByte(byte('0' + x%10))
		x /= 10
		if x == 0 {
			x = splitmix(g.seed + uint64(i)*31 + g.meta.Seq)
		}
	}
	return b.String()
}

func (g *idgen) intn(n int) int {
	g.meta.Seq++
	return int(splitmix(g.seed^splitmix(g.meta.Seq)) % uint64(n))
}
