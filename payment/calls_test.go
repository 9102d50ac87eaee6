package payment_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// TestCallErrorKeepsItsCause: a gateway nobody listens on. The calls stored in the
// order's history say why they failed ("connection refused") and never carry the
// signed request URL, whose query string holds the signature and used to push the
// cause past the stored message's 500 characters.
func TestCallErrorKeepsItsCause(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/gateway.do"
	ln.Close()
	if _, err := b.db.UpdateApp(context.Background(), b.app.ID, f2fpay.AppUpdate{Gateway: &closed}); err != nil {
		t.Fatal(err)
	}
	by := b.Buyer("100.00")
	o, err := b.engine.PayBarcode(context.Background(), payment.PayRequest{
		TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: f2fpay.MustParseAmount("1.00"), Subject: "coffee",
		Deadline: 200 * time.Millisecond, OutTradeNo: "T" + time.Now().Format("150405.000000"),
	})
	if err != nil {
		t.Fatalf("PayBarcode: %v", err)
	}
	calls := b.calls(o)
	if len(calls) == 0 {
		t.Fatalf("no calls recorded for order %s (%s)", o.OutTradeNo, o.State)
	}
	for _, c := range calls {
		if !strings.HasPrefix(c.Message, "dial tcp") || !strings.Contains(c.Message, "connection refused") {
			t.Errorf("%s call stored %q; want the cause first: dial tcp ... connection refused", c.Method, c.Message)
		}
		if strings.Contains(c.Message, "sign=") || strings.Contains(c.Message, "?") {
			t.Errorf("%s call stored the signed URL: %q", c.Method, c.Message)
		}
		if !strings.Contains(c.Message, closed) {
			t.Errorf("%s call stored %q; want the gateway %s named", c.Method, c.Message, closed)
		}
	}
	t.Logf("stored: %q", calls[0].Message)
}
