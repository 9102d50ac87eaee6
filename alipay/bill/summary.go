package bill

import (
	"io"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// TotalStoreID is the 门店编号 cell of the summary's last row, which adds up all stores.
const TotalStoreID = "合计"

// SummaryRow is one row of the 业务明细(汇总) file: the totals of one store, or of all
// stores when StoreID is "合计".
type SummaryRow struct {
	StoreID          string       // 门店编号 ("合计" on the total row; "" for trades without a store)
	StoreName        string       // 门店名称
	Trades           int          // 交易订单总笔数
	Refunds          int          // 退款订单总笔数
	OrderAmount      money.Amount // 订单金额（元）
	Receipt          money.Amount // 商家实收（元）
	AlipayDiscount   money.Amount // 支付宝优惠（元）
	MerchantDiscount money.Amount // 商家优惠（元）
	CardAmount       money.Amount // 卡消费金额（元）
	ServiceFee       money.Amount // 服务费（元）
	Royalty          money.Amount // 分润（元）
	NetReceipt       money.Amount // 实收净额（元）
}

// IsTotal reports whether this is the 合计 row.
func (r *SummaryRow) IsTotal() bool { return r.StoreID == TotalStoreID }

// summaryColumns: no real summary row with its TABs was found; the store cells get one
// like the ID-like cells of the detail file (a guess that only affects the writer).
var summaryColumns = []column[SummaryRow]{
	textCol("门店编号", true, true, func(r *SummaryRow) *string { return &r.StoreID }),
	textCol("门店名称", false, true, func(r *SummaryRow) *string { return &r.StoreName }),
	countCol("交易订单总笔数", true, func(r *SummaryRow) *int { return &r.Trades }),
	countCol("退款订单总笔数", true, func(r *SummaryRow) *int { return &r.Refunds }),
	totalCol("订单金额（元）", true, false, func(r *SummaryRow) *money.Amount { return &r.OrderAmount }),
	totalCol("商家实收（元）", true, false, func(r *SummaryRow) *money.Amount { return &r.Receipt }),
	totalCol("支付宝优惠（元）", false, false, func(r *SummaryRow) *money.Amount { return &r.AlipayDiscount }),
	totalCol("商家优惠（元）", false, false, func(r *SummaryRow) *money.Amount { return &r.MerchantDiscount }),
	totalCol("卡消费金额（元）", false, false, func(r *SummaryRow) *money.Amount { return &r.CardAmount }),
	totalCol("服务费（元）", false, false, func(r *SummaryRow) *money.Amount { return &r.ServiceFee }),
	totalCol("分润（元）", false, false, func(r *SummaryRow) *money.Amount { return &r.Royalty }),
	totalCol("实收净额（元）", false, false, func(r *SummaryRow) *money.Amount { return &r.NetReceipt }),
}

// SummaryReader reads a 业务明细(汇总) file row by row.
type SummaryReader struct {
	t   *TableReader
	b   binding[SummaryRow]
	row SummaryRow
}

// NewSummaryReader reads the header of a 业务明细(汇总) CSV (GBK) and returns a reader
// positioned at the first row.
func NewSummaryReader(r io.Reader) (*SummaryReader, error) {
	t, err := NewTableReader(r)
	if err != nil {
		return nil, err
	}
	return newSummaryReader(t)
}

func newSummaryReader(t *TableReader) (*SummaryReader, error) {
	if err := expectKind(t, KindSummary); err != nil {
		return nil, err
	}
	b, err := bind(summaryColumns, t, KindSummary)
	if err != nil {
		return nil, err
	}
	return &SummaryReader{t: t, b: b}, nil
}

// Header returns what the # lines above the rows said.
func (s *SummaryReader) Header() Header { return s.t.Header() }

// Next returns the next row, or io.EOF after the last one. The row is reused by the next
// call; copy the struct to keep it.
func (s *SummaryReader) Next() (*SummaryRow, error) {
	f, err := s.t.Next()
	if err != nil {
		return nil, err
	}
	s.row = SummaryRow{}
	if col, err := s.b.decode(f, &s.row); err != nil {
		return nil, s.t.fail(s.t.errorf(ErrFormat, s.t.Line(), err, "column %s", col))
	}
	return &s.row, nil
}

// Line returns the line number of the row last returned by Next.
func (s *SummaryReader) Line() int { return s.t.Line() }

// Fields returns the raw cells of the row last returned by Next.
func (s *SummaryReader) Fields() []string { return s.t.fields }

// Footer returns the parsed footer after Next has returned io.EOF, nil before.
func (s *SummaryReader) Footer() *Footer { return s.t.Footer() }

// Close closes the zip entry the reader was opened from, if any.
func (s *SummaryReader) Close() error { return s.t.Close() }
