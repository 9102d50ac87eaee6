package httpapi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/f2fpay/f2fpay"
)

// seesAll reports whether terminal t may see and act on all of its merchant's orders:
// the merchant's setting (terminals_see_all_orders), or the server-wide override
// (Config.MerchantWideTerminals). A merchant that cannot be read counts as "no": a
// terminal then sees its own orders, never more.
func (s *Server) seesAll(ctx context.Context, t *f2fpay.Terminal) bool {
	if s.wide {
		return true
	}
	m, err := s.store.FindMerchant(ctx, t.MerchantID)
	return err == nil && m.TerminalsSeeAllOrders
}

// beijing is China Standard Time, UTC+8 all year (no daylight saving since 1991), as
// a fixed zone so that receipts need no zone database on the host.
var beijing = time.FixedZone("CST", 8*3600)

// receiptLayout is how Chinese receipts print a time.
const receiptLayout = "2006-01-02 15:04:05"

// payment is o as the terminal API shows it to the terminal of r: the message in the
// terminal's language (Accept-Language) and the receipt fields — merchant, store and
// terminal (the one that took the payment, which under terminals_see_all_orders may
// be another till) and the Beijing time of payment. The names come from the stores'
// in-memory copy; a name that cannot be read is left out rather than failing the answer.
func (s *Server) payment(r *http.Request, o *f2fpay.Order) Payment {
	p := showPayment(o, requestLang(r))
	ctx := r.Context()
	if m, err := s.store.FindMerchant(ctx, o.MerchantID); err == nil {
		p.MerchantName = m.Name
	}
	if st, err := s.store.FindStore(ctx, o.StoreID); err == nil {
		p.StoreName, p.StoreCode = st.Name, st.Code
	}
	if t, err := s.store.FindTerminal(ctx, o.TerminalID); err == nil {
		p.TerminalName, p.TerminalCode = t.Name, t.Code
	}
	if o.State == f2fpay.OrderPaid && !o.PaidAt.IsZero() {
		p.PaidAtBeijing = o.PaidAt.In(beijing).Format(receiptLayout)
	}
	return p
}

// qrScale and qrMargin size the PNG of GET /v1/payments/{out_trade_no}/qr.png: each
// module 8 pixels, inside the four-module quiet zone the QR standard asks for.
const (
	qrScale  = 8
	qrMargin = 4
)

// getPaymentQR answers the QR code of a QR payment as a PNG, for a terminal that shows
// an image rather than drawing the code itself. Only while the buyer can still pay:
// a final order (paid, closed, cancelled) has no code to show, which is 409 so that
// a customer display cannot keep showing a dead code.
func (s *Server) getPaymentQR(w http.ResponseWriter, r *http.Request) error {
	o, err := s.orderFor(r)
	if err != nil {
		return err
	}
	if o.Kind != f2fpay.KindQR || o.QRCode == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "payment %s is a %s payment; only QR payments (POST /v1/payments/qr) have a QR code", o.OutTradeNo, o.Kind)
	}
	if o.State.Final() {
		return f2fpay.Errorf(f2fpay.ECONFLICT, "payment %s is %s; its QR code can no longer be paid", o.OutTradeNo, o.State)
	}
	img, err := qrPNG(o.QRCode)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(img)
	return nil
}

// qrPNG renders content as a QR code (error correction M), black on white.
func qrPNG(content string) ([]byte, error) {
	bc, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	b := bc.Bounds()
	n := b.Dx()
	side := (n + 2*qrMargin) * qrScale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range n {
		for x := range n {
			if c := color.GrayModel.Convert(bc.At(b.Min.X+x, b.Min.Y+y)).(color.Gray); c.Y >= 0x80 {
				continue
			}
			for dy := range qrScale {
				for dx := range qrScale {
					img.SetGray((qrMargin+x)*qrScale+dx, (qrMargin+y)*qrScale+dy, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
