// Package bill reads and writes Alipay's daily bill files — the zip behind the URL that
// alipay.data.dataservice.bill.downloadurl.query returns — for reconciliation and for
// the sandbox that imitates Alipay.
//
// # The format
//
// The zip (<pid>0156_<yyyyMMdd>.csv.zip) stores entry names in GBK without the zip UTF-8
// flag. A trade bill (bill_type=trade) holds <account>_<date>_业务明细.csv, one row per
// trade or refund, and <account>_<date>_业务明细(汇总).csv, one row per store plus a 合计
// row. A signcustomer bill holds 账务明细 (balance movements) and 账务明细(汇总).
//
// Each CSV is GBK text: a few # lines, a column row, data rows, an end marker and # footer
// lines:
//
//	#支付宝业务明细查询
//	#账号：[20885212319120680156]
//	#起始日期：[2017年08月31日 00:00:00]   终止日期：[2017年09月01日 00:00:00]
//	#-----------------------------------------业务明细列表----------------------------------------
//	支付宝交易号,商户订单号,业务类型,…,订单金额（元）,商家实收（元）,…,服务费（元）,分润（元）,备注
//	2017083121001004720299453898<TAB>,cd6ece97…<TAB>,交易<TAB>,支付宝APP支付,2017-08-31 00:06:14,…
//	#-----------------------------------------业务明细列表结束------------------------------------
//	#交易合计：2笔，商家实收共40.00元，商家优惠共0.00元
//	#退款合计：1笔，商家实收退款共-20.00元，商家优惠退款共0.00元
//	#导出时间：[2017年09月01日 06:27:10]
//
// ID-like cells end in a TAB so that spreadsheets keep them as text; refund rows carry
// negative amounts; headers use full-width （元） and colons.
//
// # Decisions
//
//   - Streaming. The readers decode GBK line by line (the CSV punctuation and line ends
//     are below 0x40 and never occur inside a GBK character, so lines can be cut before
//     decoding), keep one line buffer and one row, and return a reused row: memory does
//     not depend on the size of the file. Each row costs one allocation: one string that
//     all its cells share, so the strings stay valid after the next row is read.
//   - Not encoding/csv: it allocates per record and per field. The splitter here handles
//     what Alipay writes (no quotes in practice, trailing TABs) and still reads RFC 4180
//     quoting correctly, including "" escapes and quoted cells that span lines.
//   - Columns are found by header name, not position, so a reordered or extended layout
//     still reads; missing required columns are named in the error. Unknown columns stay
//     reachable through Fields. Half-width (元) is accepted as （元）.
//   - The header and footer are parsed by pattern, not matched whole: footer wording
//     changed between years ("#交易合计：5笔，退款合计：0笔" in older files). Lines that are
//     not understood are kept (Header.Extra, Footer.Unparsed), never refused.
//   - Strict where a mistake would be silent: a row whose cell count differs from the
//     column row is an error (a shifted column would put a fee into the refund amount);
//     so is invalid GBK, and a UTF-8 file or BOM gets its own message (a bill re-saved by
//     an editor). A file without the end marker is truncated. Amounts go through
//     money.ParseSigned; sums and balances may exceed one trade's 100000000.00 limit
//     and are parsed without it.
//   - Times are Beijing time in a fixed UTC+8 zone (Location), so no tzdata file is needed.
//   - Zip entry names: UTF-8 if the flag says so or if the bytes are valid UTF-8 (a GBK
//     Chinese name practically never is), GBK otherwise.
//   - DetailReader.Verify checks the footer totals against the rows; it is separate
//     from reading because Alipay does not document how every total is computed.
//
// # Writing
//
// DetailWriter, WriteSummary, AccountWriter and WriteTradeZip produce the same layout
// byte for byte (GBK, CRLF line ends, the TABs, the marker dash counts, the footer
// wording); the tests compare them with fixtures made from real samples. The sandbox
// builds its daily bills with them. What the writers have to guess is documented where
// they guess it: 实收净额 in the summary, the TABs of summary cells, and the
// 账务明细(汇总) file, which is not written at all.
package bill
