package bill

import (
	"cmp"
	"errors"
	"io"
	"slices"
	"strconv"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// DetailWriter writes a 业务明细 file in Alipay's exact layout: GBK, the four # header
// lines, the 25-column row, TAB-suffixed ID cells, the end marker, and a footer whose
// totals it computes from the rows:
//
//	#交易合计：N笔，商家实收共X元，商家优惠共Y元
//	#退款合计：M笔，商家实收退款共-Z元，商家优惠退款共0.00元
//	#导出时间：[2021年10月22日 06:27:10]
//
// It also adds the rows up per store for the 业务明细(汇总) file (see Summary).
type DetailWriter struct {
	tw     *tableWriter
	info   FileInfo
	totals DetailTotals
	stores map[string]*SummaryRow
}

// NewDetailWriter writes the header lines to w and returns a writer for the rows. Nothing
// is guaranteed to reach w before Close.
func NewDetailWriter(w io.Writer, info FileInfo) *DetailWriter {
	return &DetailWriter{
		tw:     newTableWriter(w, KindDetail, info, headerLine(nil, detailColumns)),
		info:   info,
		stores: make(map[string]*SummaryRow),
	}
}

// WriteRow writes one row.
func (d *DetailWriter) WriteRow(r *DetailRow) error {
	if d.tw.done {
		return errors.New("bill: WriteRow after Close")
	}
	d.tw.line = encode(d.tw.line[:0], detailColumns, r)
	d.tw.emit()
	d.totals.add(r)
	s := d.stores[r.StoreID]
	if s == nil {
		s = &SummaryRow{StoreID: r.StoreID, StoreName: r.StoreName}
		d.stores[r.StoreID] = s
	}
	s.addDetail(r)
	return d.tw.err
}

// addDetail adds a detail row to a store's summary. 实收净额 is taken as 商家实收 plus
// 服务费 (the fee is negative on trades): what reaches the merchant's balance. Alipay's
// exact rule (e.g. whether 分润 is deducted) is not documented.
func (s *SummaryRow) addDetail(r *DetailRow) {
	switch r.Type {
	case BizTrade:
		s.Trades++
	case BizRefund:
		s.Refunds++
	}
	s.OrderAmount += r.OrderAmount
	s.Receipt += r.Receipt
	s.AlipayDiscount += r.AlipayDiscount
	s.MerchantDiscount += r.MerchantDiscount
	s.CardAmount += r.CardAmount
	s.ServiceFee += r.ServiceFee
	s.Royalty += r.Royalty
	s.NetReceipt += r.Receipt + r.ServiceFee
}

func (s *SummaryRow) addSummary(o *SummaryRow) {
	s.Trades += o.Trades
	s.Refunds += o.Refunds
	s.OrderAmount += o.OrderAmount
	s.Receipt += o.Receipt
	s.AlipayDiscount += o.AlipayDiscount
	s.MerchantDiscount += o.MerchantDiscount
	s.CardAmount += o.CardAmount
	s.ServiceFee += o.ServiceFee
	s.Royalty += o.Royalty
	s.NetReceipt += o.NetReceipt
}

// Totals returns the counts and sums of the rows written so far.
func (d *DetailWriter) Totals() DetailTotals { return d.totals }

// footerLines returns the total lines Close writes, from the rows so far.
func (d *DetailWriter) footerLines() []string {
	t := d.totals
	amt := func(a money.Amount) string { return a.String() }
	return []string{
		"#交易合计：" + strconv.Itoa(t.Trades) + "笔，商家实收共" + amt(t.TradeReceipt) + "元，商家优惠共" + amt(t.TradeMerchantDiscount) + "元",
		"#退款合计：" + strconv.Itoa(t.Refunds) + "笔，商家实收退款共" + amt(t.RefundReceipt) + "元，商家优惠退款共" + amt(t.RefundMerchantDiscount) + "元",
	}
}

// Summary returns the 业务明细(汇总) rows of what was written: one per store, sorted by
// 门店编号, then the 合计 row.
func (d *DetailWriter) Summary() []SummaryRow {
	rows := make([]SummaryRow, 0, len(d.stores)+1)
	total := SummaryRow{StoreID: TotalStoreID}
	for _, s := range d.stores {
		rows = append(rows, *s)
		total.addSummary(s)
	}
	slices.SortFunc(rows, func(a, b SummaryRow) int { return cmp.Compare(a.StoreID, b.StoreID) })
	return append(rows, total)
}

// Close writes the end marker and the footer and flushes; it does not close the
// underlying writer.
func (d *DetailWriter) Close() error {
	return d.tw.finish(d.footerLines(), d.info.ExportedAt)
}
