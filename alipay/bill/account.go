package bill

import (
	"io"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// AccountRow is one row of the 账务明细 file (bill_type=signcustomer): one movement of
// the merchant's Alipay balance.
type AccountRow struct {
	JournalNo    string       // 账务流水号
	BizNo        string       // 业务流水号 (the trade number for trade movements)
	OutTradeNo   string       // 商户订单号
	Subject      string       // 商品名称
	Time         time.Time    // 发生时间 (Beijing time)
	Counterparty string       // 对方账号
	Income       money.Amount // 收入金额（+元）
	Expense      money.Amount // 支出金额（-元）, as written (0.00 or a negative amount)
	Balance      money.Amount // 账户余额（元）
	Channel      string       // 交易渠道
	BizType      string       // 业务类型, e.g. 在线支付, 交易退款, 收费
	Remark       string       // 备注
}

// accountColumns follow a real 2012 file: the ID and name cells carry a trailing TAB;
// the time, the amounts, 交易渠道, 业务类型 and 备注 do not.
var accountColumns = []column[AccountRow]{
	textCol("账务流水号", true, true, func(r *AccountRow) *string { return &r.JournalNo }),
	textCol("业务流水号", false, true, func(r *AccountRow) *string { return &r.BizNo }),
	textCol("商户订单号", false, true, func(r *AccountRow) *string { return &r.OutTradeNo }),
	textCol("商品名称", false, true, func(r *AccountRow) *string { return &r.Subject }),
	timeCol("发生时间", true, func(r *AccountRow) *time.Time { return &r.Time }),
	textCol("对方账号", false, true, func(r *AccountRow) *string { return &r.Counterparty }),
	totalCol("收入金额（+元）", true, false, func(r *AccountRow) *money.Amount { return &r.Income }),
	totalCol("支出金额（-元）", true, false, func(r *AccountRow) *money.Amount { return &r.Expense }),
	totalCol("账户余额（元）", false, false, func(r *AccountRow) *money.Amount { return &r.Balance }),
	textCol("交易渠道", false, false, func(r *AccountRow) *string { return &r.Channel }),
	textCol("业务类型", false, false, func(r *AccountRow) *string { return &r.BizType }),
	textCol("备注", false, false, func(r *AccountRow) *string { return &r.Remark }),
}

// AccountReader reads a 账务明细 file row by row.
type AccountReader struct {
	t   *TableReader
	b   binding[AccountRow]
	row AccountRow
}

// NewAccountReader reads the header of a 账务明细 CSV (GBK) and returns a reader
// positioned at the first row.
func NewAccountReader(r io.Reader) (*AccountReader, error) {
	t, err := NewTableReader(r)
	if err != nil {
		return nil, err
	}
	return newAccountReader(t)
}

func newAccountReader(t *TableReader) (*AccountReader, error) {
	if err := expectKind(t, KindAccountDetail); err != nil {
		return nil, err
	}
	b, err := bind(accountColumns, t, KindAccountDetail)
	if err != nil {
		return nil, err
	}
	return &AccountReader{t: t, b: b}, nil
}

// Header returns what the # lines above the rows said.
func (a *AccountReader) Header() Header { return a.t.Header() }

// Next returns the next row, or io.EOF after the last one. The row is reused by the next
// call; copy the struct to keep it.
func (a *AccountReader) Next() (*AccountRow, error) {
	f, err := a.t.Next()
	if err != nil {
		return nil, err
	}
	a.row = AccountRow{}
	if col, err := a.b.decode(f, &a.row); err != nil {
		return nil, a.t.fail(a.t.errorf(ErrFormat, a.t.Line(), err, "column %s", col))
	}
	return &a.row, nil
}

// Line returns the line number of the row last returned by Next.
func (a *AccountReader) Line() int { return a.t.Line() }

// Fields returns the raw cells of the row last returned by Next.
func (a *AccountReader) Fields() []string { return a.t.fields }

// Footer returns the parsed footer (支出合计, 收入合计, 导出时间) after Next has returned
// io.EOF, nil before.
func (a *AccountReader) Footer() *Footer { return a.t.Footer() }

// Close closes the zip entry the reader was opened from, if any.
func (a *AccountReader) Close() error { return a.t.Close() }
