// Package f2fpay holds the domain of f2fpay, an Alipay face-to-face payment (当面付)
// service for store cashiers and smart vending machines: money as integer fen
// (Amount), the error model every adapter shares (Error and its codes), merchants with
// their Alipay apps, stores and terminals, orders and their state machine, refunds,
// vouchers and fund bills, the public form of orders and refunds (PublicOrder,
// PublicRefund), the outbox events that announce every change, the clock, and the
// storage contracts (Storage and the stores it is made of) that package sqlite and
// package postgres implement.
//
// The package imports nothing of the project and no technology: the payment engine is
// package payment, the HTTP API package httpapi, the Alipay OpenAPI SDK package alipay
// (bill files in alipay/bill), and the binary cmd/f2fpay. docs/design.md maps every
// package and the rules of what may import what; docs/scope.md says what f2fpay builds.
package f2fpay
