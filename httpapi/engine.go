package httpapi

import (
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// Engine is what the HTTP layer asks of the payment engine; *payment.Engine
// implements it. Declared here, at the consumer, so tests can substitute a broken
// engine to exercise error paths.
type Engine interface {
	PayBarcode(ctx context.Context, req payment.PayRequest) (*f2fpay.Order, error)
	PrecreateQR(ctx context.Context, req payment.QRRequest) (*f2fpay.Order, error)
	CreateJSAPI(ctx context.Context, req payment.JSAPIRequest) (*f2fpay.Order, error)
	// Orders are named by the service's app id and out_trade_no (unique per app).
	Order(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error)
	WaitOrder(ctx context.Context, appID int64, outTradeNo string, wait time.Duration) (*f2fpay.Order, error)
	Cancel(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error)
	Close(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error)
	RefundEngine
	NotificationHandler
	FundEngine
}

var _ Engine = (*payment.Engine)(nil)
