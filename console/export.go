package console

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// exportPage is how many orders the CSV export reads at a time: the export pages
// through the search with the same keyset as the page, so memory stays flat however
// many orders match.
const exportPage = 500

var exportHeader = []string{"id", "out_trade_no", "trade_no", "created_at", "paid_at", "state", "total_amount", "refunded_amount",
	"store", "terminal", "subject", "buyer_logon_id", "buyer_user_id", "merchant_id"}

// exportOrders streams the order search as CSV: the same form, the same scope (the
// staff member's merchant, whatever the form says), every matching order, written
// and flushed a page at a time. The export is audited before the first row.
func (c *Console) exportOrders(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := c.orderFilter(q, s.staff)
	if err != nil {
		return err
	}
	pl, err := c.places(r, s.staff)
	if err != nil {
		return err
	}
	q.Del("before")
	if err := c.record(ctx, r, s.staff, s.staff.MerchantID, "export", "orders", q.Encode()); err != nil {
		return err
	}
	f.Limit = exportPage
	name := "orders-" + c.clock.Now().In(c.loc).Format("20060102-150405") + ".csv"
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("\uFEFF")) // spreadsheet programs read UTF-8 (Chinese names) only after a BOM
	cw := csv.NewWriter(w)
	cw.Write(exportHeader)
	flusher, _ := w.(http.Flusher)
	var n int
	for {
		os, err := c.store.ListOrders(ctx, f)
		if err != nil {
			// The status is sent already: end the file with a line that says so, and log.
			c.log.Error("console: export failed", "rows", n, "err", err)
			cw.Write([]string{"# export failed after " + strconv.Itoa(n) + " rows; run it again"})
			cw.Flush()
			return nil
		}
		for _, o := range os {
			cw.Write([]string{strconv.FormatInt(o.ID, 10), cell(o.OutTradeNo), cell(o.TradeNo), c.when(o.CreatedAt), whenOrEmpty(c, o),
				string(o.State), o.TotalAmount.String(), o.RefundedAmount.String(), cell(pl.StoreName(o.StoreID)),
				cell(pl.TerminalName(o.TerminalID)), cell(o.Subject), cell(o.BuyerLogonID), cell(o.BuyerUserID),
				strconv.FormatInt(o.MerchantID, 10)})
		}
		n += len(os)
		cw.Flush()
		if err := cw.Error(); err != nil {
			return nil // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
		if len(os) < exportPage {
			break
		}
		f.BeforeID = os[len(os)-1].ID
	}
	c.log.Info("console: orders exported", "staff", s.staff.Login, "rows", n)
	return nil
}

func whenOrEmpty(c *Console, o *f2fpay.Order) string {
	if o.PaidAt.IsZero() {
		return ""
	}
	return c.when(o.PaidAt)
}

// cell defuses a text that a spreadsheet would run as a formula (=, +, -, @, or a tab
// or carriage return first): a subject or buyer name is the payer's text, not ours.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
