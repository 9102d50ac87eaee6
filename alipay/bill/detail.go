package bill

import (
	"io"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// BizType is the 业务类型 of a 业务明细 row.
type BizType string

const (
	BizTrade  BizType = "交易" // a payment
	BizRefund BizType = "退款" // a refund: its amounts are negative
)

// DetailRow is one row of the 业务明细 file: a trade or a refund. Amounts are in fen;
// refund rows carry negative amounts, and 服务费 is negative on trades (a fee the merchant
// pays) and positive on refunds (the fee given back).
type DetailRow struct {
	TradeNo           string       // 支付宝交易号
	OutTradeNo        string       // 商户订单号
	Type              BizType      // 业务类型: 交易 or 退款 (other values are kept as read)
	Subject           string       // 商品名称
	Created           time.Time    // 创建时间 (Beijing time)
	Finished          time.Time    // 完成时间 (Beijing time)
	StoreID           string       // 门店编号
	StoreName         string       // 门店名称
	Operator          string       // 操作员
	TerminalID        string       // 终端号
	Counterparty      string       // 对方账户, masked: *杨(137****2600)
	OrderAmount       money.Amount // 订单金额（元）
	Receipt           money.Amount // 商家实收（元）
	AlipayRedPacket   money.Amount // 支付宝红包（元）
	Jifenbao          money.Amount // 集分宝（元）
	AlipayDiscount    money.Amount // 支付宝优惠（元）
	MerchantDiscount  money.Amount // 商家优惠（元）
	VoucherAmount     money.Amount // 券核销金额（元）
	VoucherName       string       // 券名称
	MerchantRedPacket money.Amount // 商家红包消费金额（元）
	CardAmount        money.Amount // 卡消费金额（元）
	RefundRequestNo   string       // 退款批次号/请求号 (out_request_no of the refund)
	ServiceFee        money.Amount // 服务费（元）
	Royalty           money.Amount // 分润（元）
	Remark            string       // 备注
}

// detailColumns is the 25-column layout, in Alipay's order. The tab flags reproduce the
// real files: ID-like cells and, oddly, 商家红包消费金额 carry a trailing TAB.
var detailColumns = []column[DetailRow]{
	textCol("支付宝交易号", true, true, func(r *DetailRow) *string { return &r.TradeNo }),
	textCol("商户订单号", true, true, func(r *DetailRow) *string { return &r.OutTradeNo }),
	textCol("业务类型", true, true, func(r *DetailRow) *string { return (*string)(&r.Type) }),
	textCol("商品名称", false, false, func(r *DetailRow) *string { return &r.Subject }),
	timeCol("创建时间", true, func(r *DetailRow) *time.Time { return &r.Created }),
	timeCol("完成时间", true, func(r *DetailRow) *time.Time { return &r.Finished }),
	textCol("门店编号", false, true, func(r *DetailRow) *string { return &r.StoreID }),
	textCol("门店名称", false, true, func(r *DetailRow) *string { return &r.StoreName }),
	textCol("操作员", false, true, func(r *DetailRow) *string { return &r.Operator }),
	textCol("终端号", false, true, func(r *DetailRow) *string { return &r.TerminalID }),
	textCol("对方账户", false, true, func(r *DetailRow) *string { return &r.Counterparty }),
	amountCol("订单金额（元）", true, false, func(r *DetailRow) *money.Amount { return &r.OrderAmount }),
	amountCol("商家实收（元）", true, false, func(r *DetailRow) *money.Amount { return &r.Receipt }),
	amountCol("支付宝红包（元）", false, false, func(r *DetailRow) *money.Amount { return &r.AlipayRedPacket }),
	amountCol("集分宝（元）", false, false, func(r *DetailRow) *money.Amount { return &r.Jifenbao }),
	amountCol("支付宝优惠（元）", false, false, func(r *DetailRow) *money.Amount { return &r.AlipayDiscount }),
	amountCol("商家优惠（元）", false, false, func(r *DetailRow) *money.Amount { return &r.MerchantDiscount }),
	amountCol("券核销金额（元）", false, false, func(r *DetailRow) *money.Amount { return &r.VoucherAmount }),
	textCol("券名称", false, false, func(r *DetailRow) *string { return &r.VoucherName }),
	amountCol("商家红包消费金额（元）", false, true, func(r *DetailRow) *money.Amount { return &r.MerchantRedPacket }),
	amountCol("卡消费金额（元）", false, false, func(r *DetailRow) *money.Amount { return &r.CardAmount }),
	textCol("退款批次号/请求号", false, true, func(r *DetailRow) *string { return &r.RefundRequestNo }),
	amountCol("服务费（元）", false, false, func(r *DetailRow) *money.Amount { return &r.ServiceFee }),
	amountCol("分润（元）", false, false, func(r *DetailRow) *money.Amount { return &r.Royalty }),
	textCol("备注", false, false, func(r *DetailRow) *string { return &r.Remark }),
}

// DetailTotals are the counts and sums a reader or writer accumulates over the rows, in
// the terms of the footer lines.
type DetailTotals struct {
	Trades, Refunds                       int
	TradeReceipt, TradeMerchantDiscount   money.Amount
	RefundReceipt, RefundMerchantDiscount money.Amount
	Other                                 int // rows whose 业务类型 is neither 交易 nor 退款
}

func (s *DetailTotals) add(r *DetailRow) {
	switch r.Type {
	case BizTrade:
		s.Trades++
		s.TradeReceipt += r.Receipt
		s.TradeMerchantDiscount += r.MerchantDiscount
	case BizRefund:
		s.Refunds++
		s.RefundReceipt += r.Receipt
		s.RefundMerchantDiscount += r.MerchantDiscount
	default:
		s.Other++
	}
}

// DetailReader reads a 业务明细 file row by row.
type DetailReader struct {
	t      *TableReader
	b      binding[DetailRow]
	row    DetailRow
	totals DetailTotals
}

// NewDetailReader reads the header of a 业务明细 CSV (GBK bytes, as in Alipay's zip) and
// returns a reader positioned at the first row. It fails if the column row lacks one of
// the columns reconciliation needs (支付宝交易号, 商户订单号, 业务类型, 创建时间, 完成时间,
// 订单金额（元）, 商家实收（元）), naming them.
func NewDetailReader(r io.Reader) (*DetailReader, error) {
	t, err := NewTableReader(r)
	if err != nil {
		return nil, err
	}
	return newDetailReader(t)
}

func newDetailReader(t *TableReader) (*DetailReader, error) {
	if err := expectKind(t, KindDetail); err != nil {
		return nil, err
	}
	b, err := bind(detailColumns, t, KindDetail)
	if err != nil {
		return nil, err
	}
	return &DetailReader{t: t, b: b}, nil
}

// expectKind refuses a file whose title names another kind of bill: the summary handed
// to the detail reader would otherwise fail with a confusing "missing columns" error.
func expectKind(t *TableReader, want Kind) error {
	if k := t.hdr.Kind; k != KindUnknown && k != want {
		return t.errorf(ErrWrongKind, 1, nil, "this is the %s file (#%s), not %s; open the %s entry of the zip", k, t.hdr.Title, want, want)
	}
	return nil
}

// Header returns what the # lines above the rows said.
func (d *DetailReader) Header() Header { return d.t.Header() }

// Next returns the next row, or io.EOF after the last one. The returned row is reused by
// the next call — copy the struct (row := *r) to keep it; its strings stay valid.
func (d *DetailReader) Next() (*DetailRow, error) {
	f, err := d.t.Next()
	if err != nil {
		return nil, err
	}
	d.row = DetailRow{}
	if col, err := d.b.decode(f, &d.row); err != nil {
		return nil, d.t.fail(d.t.errorf(ErrFormat, d.t.Line(), err, "column %s", col))
	}
	d.totals.add(&d.row)
	return &d.row, nil
}

// Line returns the line number of the row last returned by Next.
func (d *DetailReader) Line() int { return d.t.Line() }

// Fields returns the raw cells of the row last returned by Next, in the file's column
// order (see Header().Columns): columns this package does not know are there.
func (d *DetailReader) Fields() []string { return d.t.fields }

// Footer returns the parsed footer after Next has returned io.EOF, nil before.
func (d *DetailReader) Footer() *Footer { return d.t.Footer() }

// Totals returns the counts and sums of the rows read so far.
func (d *DetailReader) Totals() DetailTotals { return d.totals }

// Verify compares the footer's totals with the rows read; call it after io.EOF. It checks
// only what the footer states (older footers have counts but no sums).
func (d *DetailReader) Verify() error {
	f := d.t.Footer()
	if f == nil {
		return d.t.errorf(ErrFormat, 0, nil, "Verify called before the last row was read")
	}
	s := d.totals
	checks := []struct {
		total  Total
		sum    string
		count  int
		amount money.Amount
		what   string
	}{
		{f.Trades, SumReceipt, s.Trades, s.TradeReceipt, "交易"},
		{f.Trades, SumMerchantDiscount, s.Trades, s.TradeMerchantDiscount, "交易"},
		{f.Refunds, SumRefundReceipt, s.Refunds, s.RefundReceipt, "退款"},
		{f.Refunds, SumRefundMerchantDiscount, s.Refunds, s.RefundMerchantDiscount, "退款"},
	}
	for _, c := range checks {
		if c.total.HasCount && c.total.Count != c.count {
			return d.t.errorf(ErrFormat, 0, nil, "the footer %s says %d笔 but the file has %d %s rows: rows are missing or the file was edited",
				c.total.Label, c.total.Count, c.count, c.what)
		}
		if a, ok := c.total.Sum(c.sum); ok && a != c.amount {
			return d.t.errorf(ErrFormat, 0, nil, "the footer %s says %s共%s元 but the %s rows add up to %s",
				c.total.Label, c.sum, a, c.what, c.amount)
		}
	}
	return nil
}

// Close closes the zip entry the reader was opened from, if any.
func (d *DetailReader) Close() error { return d.t.Close() }
