package bill

import (
	"errors"
	"io"
	"strconv"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// AccountWriter writes a 账务明细 file (bill_type=signcustomer) with the footer Alipay
// puts under it, computed from the rows:
//
//	#支出合计：0笔，共0.00元
//	#收入合计：18笔，共14989.00元
//	#导出时间：[2012年12月31日 08:00:00]
//
// A row counts as income when 收入金额 is not zero and as expense when 支出金额 is not
// zero.
type AccountWriter struct {
	tw                    *tableWriter
	info                  FileInfo
	incomes, expenses     int
	incomeSum, expenseSum money.Amount
}

// NewAccountWriter writes the header lines to w and returns a writer for the rows.
func NewAccountWriter(w io.Writer, info FileInfo) *AccountWriter {
	return &AccountWriter{tw: newTableWriter(w, KindAccountDetail, info, headerLine(nil, accountColumns)), info: info}
}

// WriteRow writes one row.
func (a *AccountWriter) WriteRow(r *AccountRow) error {
	if a.tw.done {
		return errors.New("bill: WriteRow after Close")
	}
	a.tw.line = encode(a.tw.line[:0], accountColumns, r)
	a.tw.emit()
	if r.Income != 0 {
		a.incomes++
		a.incomeSum += r.Income
	}
	if r.Expense != 0 {
		a.expenses++
		a.expenseSum += r.Expense
	}
	return a.tw.err
}

// Close writes the end marker and the footer and flushes; it does not close the
// underlying writer.
func (a *AccountWriter) Close() error {
	return a.tw.finish([]string{
		"#支出合计：" + strconv.Itoa(a.expenses) + "笔，共" + a.expenseSum.String() + "元",
		"#收入合计：" + strconv.Itoa(a.incomes) + "笔，共" + a.incomeSum.String() + "元",
	}, a.info.ExportedAt)
}
