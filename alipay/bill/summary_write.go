package bill

import (
	"io"
)

// WriteSummary writes a 业务明细(汇总) file with the given rows (normally
// DetailWriter.Summary(), which ends with the 合计 row). Its footer is only the export
// time.
func WriteSummary(w io.Writer, info FileInfo, rows []SummaryRow) error {
	tw := newTableWriter(w, KindSummary, info, headerLine(nil, summaryColumns))
	for i := range rows {
		tw.line = encode(tw.line[:0], summaryColumns, &rows[i])
		tw.emit()
	}
	return tw.finish(nil, info.ExportedAt)
}
