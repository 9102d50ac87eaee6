package alipay

import (
	"errors"
	"fmt"
)

// Top-level response codes (docs/alipay-protocol.md §5.1).
const (
	CodeSuccess            = "10000" // the call succeeded
	CodeWaiting            = "10003" // trade.pay only: the buyer must confirm in the wallet
	CodeUnknown            = "20000" // service unavailable: the outcome is unknown
	CodeInsufficientToken  = "20001" // auth token problems
	CodeMissingArgument    = "40001" // a required common parameter is missing
	CodeInvalidArgument    = "40002" // a parameter is invalid (incl. isv.invalid-signature)
	CodeInsufficientCond   = "40003"
	CodeBusinessFailed     = "40004" // a business failure; see SubCode (ACQ.*)
	CodeCallLimited        = "40005"
	CodeInsufficientPermit = "40006"
)

// Sub-codes the payment flows act on (docs/alipay-protocol.md §5.2).
const (
	SubSystemError            = "ACQ.SYSTEM_ERROR"
	SubTradeNotExist          = "ACQ.TRADE_NOT_EXIST"
	SubTradeHasSuccess        = "ACQ.TRADE_HAS_SUCCESS"
	SubTradeHasClose          = "ACQ.TRADE_HAS_CLOSE"
	SubTradeStatusError       = "ACQ.TRADE_STATUS_ERROR"
	SubPaymentAuthCodeInvalid = "ACQ.PAYMENT_AUTH_CODE_INVALID"
	SubBuyerBalanceNotEnough  = "ACQ.BUYER_BALANCE_NOT_ENOUGH"
	SubSellerBalanceNotEnough = "ACQ.SELLER_BALANCE_NOT_ENOUGH"
	SubContextInconsistent    = "ACQ.CONTEXT_INCONSISTENT"
	SubRefundAmountExceeded   = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
	SubDiscordantRepeat       = "ACQ.DISCORDANT_REPEAT_REQUEST"
	SubInvalidParameter       = "ACQ.INVALID_PARAMETER"
	SubInvalidSignature       = "isv.invalid-signature"
	SubISPUnknownError        = "isp.unknow-error"
	SubAOPUnknownError        = "aop.unknow-error"
)

// ErrInvalidRequest is wrapped by errors about a request that was never sent: a missing
// field, an amount out of range, a biz_content that does not marshal. Such a call had
// no effect at Alipay and can be fixed and retried.
var ErrInvalidRequest = errors.New("alipay: invalid request")

// Error is a verified failure answer from Alipay. The fields are Alipay's own.
type Error struct {
	Method  string
	Code    string
	Msg     string
	SubCode string
	SubMsg  string
	TraceID string
}

func (e *Error) Error() string {
	if e.SubCode != "" {
		return fmt.Sprintf("alipay: %s: %s %s: %s %s", e.Method, e.Code, e.Msg, e.SubCode, e.SubMsg)
	}
	return fmt.Sprintf("alipay: %s: %s %s", e.Method, e.Code, e.Msg)
}

// Unknown reports whether the failure leaves the outcome open: 20000, or a system-error
// sub-code that Alipay's documentation says to resolve by querying the trade.
func (e *Error) Unknown() bool {
	switch {
	case e.Code == CodeUnknown:
		return true
	case e.SubCode == SubSystemError, e.SubCode == SubISPUnknownError, e.SubCode == SubAOPUnknownError:
		return true
	}
	return false
}

// UnknownError means the request may or may not have taken effect at Alipay: the
// connection failed or timed out after sending, the answer was lost, cut off, not 200,
// or its signature did not verify. Never treat it as a failure: ask Alipay (trade.query,
// refund.query) before deciding anything about money.
type UnknownError struct {
	Method string
	Reason string
	Err    error
}

func (e *UnknownError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("alipay: %s: outcome unknown: %s: %v", e.Method, e.Reason, e.Err)
	}
	return fmt.Sprintf("alipay: %s: outcome unknown: %s", e.Method, e.Reason)
}

func (e *UnknownError) Unwrap() error { return e.Err }

// IsUnknown reports whether err leaves the outcome of a call open (see UnknownError and
// Error.Unknown). Context cancellation after sending is unknown too.
func IsUnknown(err error) bool {
	var ue *UnknownError
	if errors.As(err, &ue) {
		return true
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Unknown()
	}
	return false
}

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var ae *Error
	ok := errors.As(err, &ae)
	return ae, ok
}

// HasSubCode reports whether err is an Alipay answer with the given sub_code.
func HasSubCode(err error, subCode string) bool {
	ae, ok := AsError(err)
	return ok && ae.SubCode == subCode
}
