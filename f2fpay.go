// Package f2fpay holds the domain types of f2fpay, an Alipay face-to-face payment
// (当面付) system for store cashiers and smart vending machines: money as integer fen,
// the error model shared by every adapter, and (as the service grows) orders, refunds,
// terminals and the interfaces the stores implement.
//
// The package has no dependencies on any technology. The Alipay OpenAPI SDK lives in
// package alipay, bill files in alipay/bill, and the binary in cmd/f2fpay.
package f2fpay
