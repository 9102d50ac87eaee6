package alipay_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

// These examples are compiled, not run (they have no // Output): they need your keys
// and a gateway. Running them offline would mean starting the f2fpay sandbox, which is
// not part of the SDK and which the SDK's tests do not import (standalone_test.go); the
// same calls run against the sandbox in alipaysim/rest_client_test.go and the alipay
// tests that use httptest. Package alipay/money has examples that run.

// A cashier scans the buyer's payment code; the result is one of four states, and
// only PAID means the goods can leave the counter.
func ExampleClient_TradePay() {
	client, err := alipay.New(alipay.Config{
		AppID:           "2021000122671080",
		PrivateKey:      os.Getenv("APP_PRIVATE_KEY"),       // yours, PKCS#1 or PKCS#8
		AlipayPublicKey: os.Getenv("ALIPAY_PUBLIC_KEY"),     // 支付宝公钥, from the console
		Gateway:         "http://127.0.0.1:8090/gateway.do", // f2fpay sandbox; default production
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	res, err := client.TradePay(ctx, &alipay.TradePayRequest{
		OutTradeNo:  "NJ001-20240513-000017", // your order number, unique, reused on retry
		AuthCode:    "287634438256643940",    // what the scanner read
		Subject:     "Iphone6 16G",
		TotalAmount: money.MustParse("88.88"),
		StoreID:     "NJ_001",
		TerminalID:  "POS-7",
	})
	if errors.Is(err, alipay.ErrInvalidRequest) {
		log.Fatal(err) // nothing was sent: fix the request
	}
	switch res.Status {
	case alipay.PayPaid:
		log.Printf("paid %s, buyer paid %s", res.Response.TradeNo, res.Response.BuyerPayAmount)
	case alipay.PayFailed:
		log.Printf("refused: %v", res.Err) // e.g. ACQ.PAYMENT_AUTH_CODE_INVALID: ask for a fresh code
	case alipay.PayWaiting, alipay.PayUnknown:
		// The buyer may pay (or may have paid). Poll TradeQuery; if it is not paid in
		// time, TradeCancel — never just forget the order.
		q, err := client.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "NJ001-20240513-000017"})
		if err == nil && q.TradeStatus.Paid() {
			log.Printf("paid after all: %s", q.TradeNo)
		}
	}
}

// Alipay POSTs notifications to your notify_url; answer "success" only after you
// committed what it tells you, or Alipay retries (which is what you want on failure).
func ExampleClient_ParseNotificationRequest() {
	client, err := alipay.New(alipay.Config{
		AppID:           "2021000122671080",
		PrivateKey:      os.Getenv("APP_PRIVATE_KEY"),
		AlipayPublicKey: os.Getenv("ALIPAY_PUBLIC_KEY"),
	})
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /alipay/notify", func(w http.ResponseWriter, r *http.Request) {
		n, err := client.ParseNotificationRequest(r) // verified over the raw form
		if err != nil {
			log.Printf("refused notification: %v", err)
			http.Error(w, "bad notification", http.StatusBadRequest)
			return
		}
		// Treat it as a snapshot of the trade, not an event: compare out_trade_no,
		// seller_id and total_amount with your order, then apply the state if newer.
		log.Printf("trade %s is %s (refunded so far: %s)", n.OutTradeNo, n.TradeStatus, n.RefundFee)
		alipay.AckNotification(w)
	})
}
