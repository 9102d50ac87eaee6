package console_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// TestTimeline: the order page's timeline lists what the stores recorded — gateway
// calls with code, sub_code and latency, Alipay's notifications — oldest first.
func TestTimeline(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := t.Context()
		at := b.mine.CreatedAt.Add(time.Second)
		must(t, b.store.RecordCall(ctx, &f2fpay.GatewayCall{OrderID: b.mine.ID, Method: "alipay.trade.pay", Code: "10003",
			SubCode: "", Outcome: "WAITING", Latency: 123 * time.Millisecond, At: at}))
		must(t, b.store.RecordCall(ctx, &f2fpay.GatewayCall{OrderID: b.mine.ID, Method: "alipay.trade.query", Code: "40004",
			SubCode: "ACQ.TRADE_NOT_EXIST", Outcome: "UNKNOWN", Latency: 45 * time.Millisecond, At: at.Add(time.Second)}))
		must(t, b.store.RecordCall(ctx, &f2fpay.GatewayCall{OrderID: b.mine.ID, Method: payment.MethodNotify, Code: "n-77",
			Outcome: "TRADE_SUCCESS", At: at.Add(2 * time.Second)}))
		br := b.browser(t)
		br.get("/console/lang/en?next=/console/")
		br.login("finance", password)
		_, page := br.get("/console/orders/" + strconv.FormatInt(b.mine.ID, 10))
		i := strings.Index(page, `data-testid="timeline"`)
		if i < 0 {
			t.Fatalf("no timeline:\n%s", page)
		}
		tl := page[i:]
		last := -1
		for _, want := range []string{"Order created", "alipay.trade.pay", "10003", "123 ms", "alipay.trade.query", "ACQ.TRADE_NOT_EXIST", "45 ms", "notify_id n-77", "TRADE_SUCCESS"} {
			j := strings.Index(tl, want)
			if j < 0 || j < last {
				t.Fatalf("the timeline lacks %q or has it out of order (at %d, after %d):\n%s", want, j, last, tl[:min(len(tl), 3000)])
			}
			last = j
		}
	})
}
