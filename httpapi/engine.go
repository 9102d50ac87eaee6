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
	Order(ctx context.Context, outTradeNo string) (*f2fpay.Order, error)
	WaitOrder(ctx context.Context, outTradeNo string, wait time.Duration) (*f2fpay.Order, error)
	Cancel(ctx context.Context, outTradeNo string) (*f2fpay.Order, error)
	Close(ctx context.Context, outTradeNo string) (*f2fpay.Order, error)
	RefundEngine
	NotificationHandler
}

var _ Engine = (*payment.Engine)(nil)
