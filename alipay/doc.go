// Package alipay is a Go SDK for the Alipay OpenAPI (支付宝开放平台) form protocol
// (gateway.do), written for face-to-face payment (当面付): barcode payment, QR payment,
// JSAPI payment for vending machines, refunds, profit sharing, bills, OAuth and
// notifications.
//
// # Why another SDK
//
// Signature trouble is the top complaint about every public Alipay SDK. This one is
// built so those bugs cannot happen:
//
//   - Responses are verified over the exact bytes of the response node as Alipay sent
//     them (ParseEnvelope is a JSON scanner that slices the body), never over a
//     re-serialised struct. A missing or wrong signature is an error, never a silently
//     accepted answer — error answers included.
//   - Money is money.Amount (package alipay/money), integer fen, written as "88.88" on
//     the wire; no float ever turns 0.10 into 0.1.
//   - Certificate mode adds app_cert_sn and alipay_root_cert_sn to every method, filters
//     the root bundle by signature algorithm as Alipay does, and fetches a rotated Alipay
//     certificate only after checking its chain.
//   - Results cannot be misread. TradePay answers PAID, WAITING (10003), UNKNOWN (20000,
//     ACQ.SYSTEM_ERROR, timeouts, lost or unverifiable answers) or FAILED (40004 and
//     friends, with sub_code); other calls return an *Error for Alipay's failures and an
//     *UnknownError when the outcome is open. IsUnknown tells the two apart. Errors
//     wrapping ErrInvalidRequest were never sent.
//   - Key mix-ups are caught at New: a public key where the private key belongs, or the
//     app's own public key configured as Alipay's, is reported with what to do.
//
// # Use
//
// The same typed API also speaks the newer REST protocol (/v3/alipay/..., signed
// Authorization headers): set Config.Protocol to ProtocolREST (see rest.go for how v3
// reports waiting and unknown payments).
//
// Create one Client per merchant app with New and share it; it is immutable and safe for
// concurrent use, and holds no global state. Point Config.Gateway at any gateway: Alipay's
// production (the default), Alipay's online sandbox, or an offline `f2fpay sandbox`.
//
// Notifications are verified with ParseNotificationRequest (or VerifyNotification for a
// form already decoded) and acknowledged with AckNotification after your commit;
// agreement notifications (dut_user_sign, dut_user_unsign) decode with
// Notification.Agreement. Face payment (SmilepayInitialize, TradePay with scene
// security_code) and agreement payment (AgreementPageSignURL, AgreementQuery,
// AgreementUnsign, TradePay with AgreementParams) are described in docs/vending.md §1
// and §7. Bills
// come from BillDownloadURLQuery and DownloadBill, and are read with package
// alipay/bill.
//
// # Decisions where the protocol notes leave a question open
//
// The notes are docs/alipay-protocol.md in the f2fpay repository (§11 lists the open
// questions).
//
//   - Requests put system parameters in the query string and biz_content (and
//     app_auth_token) in the form body, as Alipay's Java SDK does; both are signed.
//   - timestamp is written in Beijing time (UTC+8) whatever the host's zone.
//   - An answer that verifies only with "\/" unescaped is accepted (the Java and PHP
//     SDKs' fallback); the exact bytes are always tried first.
//   - Notifications are verified over all fields but sign and sign_type; if that fails,
//     with sign_type kept (the form some non-trade messages use), as the Node SDK does.
//     Only the POST body counts: query parameters on the notify URL are ignored.
//   - In certificate mode a notification without alipay_cert_sn is verified with the
//     configured Alipay certificate.
//   - monitor.heartbeat.syn answers are verified like any other; Alipay's historical
//     mcloudmonitor endpoint did not sign them, the f2fpay sandbox does.
package alipay
