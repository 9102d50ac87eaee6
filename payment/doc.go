// Package payment is f2fpay's payment engine: Alipay's barcode flow
// (docs/alipay-protocol.md §7.2) made durable (pay → poll → cancel), QR and JSAPI
// orders, refunds, Alipay's notifications, and the janitor that resolves whatever a
// crash or a lost answer left open.
//
// The rules it keeps (docs/state_machine.md draws them):
//
//   - The intent is written before Alipay is called (an order PAYING, a refund PENDING),
//     and every answer is written, with the GatewayCall that brought it and the outbox
//     event it causes, in one compare-and-set update of the order.
//   - An order leaves PAYING, WAITING, UNKNOWN, PENDING and CANCELLING only on Alipay's
//     word: a pay, query, cancel or close answer, or a verified notification. No local
//     timer ever fails or closes an order; a timer only decides when to ask Alipay next.
//   - An unknown outcome (20000, a timeout, a lost or unverifiable answer) is resolved by
//     trade.query and, if the buyer has not paid by the order's deadline, trade.cancel —
//     never by sending trade.pay again. A cancel is retried until Alipay answers it.
//   - Answers are applied to the order as it stands in the store: on a version conflict
//     the order is reloaded and the answer applied again, so a notification, a janitor in
//     another instance and a terminal's request can race without corrupting anything.
//
// Engine is the entry point; the HTTP layer calls its methods and maps the codes of the
// f2fpay.Error values they return (EINVALID, ENOTFOUND, ECONFLICT, EUNAVAILABLE) to
// status codes.
package payment
