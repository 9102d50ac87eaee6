package payment

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Outcomes recorded on gateway calls besides the pay statuses and trade statuses.
const (
	outcomeUnknown  = "UNKNOWN"   // no usable answer: the call may or may not have taken effect
	outcomeError    = "ERROR"     // Alipay answered with a failure
	outcomeNotExist = "NOT_EXIST" // ACQ.TRADE_NOT_EXIST
	outcomeRetry    = "RETRY"     // cancel answered retry_flag=Y
	outcomeOK       = "OK"
	outcomeNotSent  = "NOT_SENT" // our client refused to send the request (a bug); nothing reached Alipay
)

// callCtx bounds one Alipay call by the policy's timeout.
func (e *Engine) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.policy.CallTimeout)
}

// newCall describes a finished gateway call. err is the call's error (nil on 10000).
func (e *Engine) newCall(method string, st stamp, code string, err error, outcome string) *f2fpay.GatewayCall {
	c := &f2fpay.GatewayCall{Method: method, Code: code, Outcome: outcome, At: st.at, Latency: time.Since(st.t0)}
	var ae *alipay.Error
	switch {
	case errors.As(err, &ae):
		c.Code, c.SubCode = ae.Code, ae.SubCode
		c.Message = ae.SubMsg
		if c.Message == "" {
			c.Message = ae.Msg
		}
	case err != nil:
		c.Code = ""
		c.Message = callErrorMessage(err)
	}
	if len(c.Message) > maxCallMessage {
		c.Message = truncateUTF8(c.Message, maxCallMessage)
	}
	e.metrics.GatewayCall(method, c.Code, outcome, c.Latency)
	return c
}

// maxCallMessage bounds the message stored with a gateway call.
const maxCallMessage = 500

// callErrorMessage is how a call that got no usable answer is written into the order's
// history: the cause first ("dial tcp 10.0.0.1:443: connect: connection refused", "lookup
// openapi.alipay.com: no such host"), then what the client concluded, then the gateway
// without its query string. The request's URL carries every signed parameter and the
// signature — hundreds of characters that used to fill the stored message before the
// cause was reached, and a signature that has no business in a history shown to
// operators.
func callErrorMessage(err error) string {
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		return err.Error()
	}
	msg := urlErr.Err.Error()
	if ue := (*alipay.UnknownError)(nil); errors.As(err, &ue) {
		msg += " — " + ue.Method + ": outcome unknown: " + ue.Reason
	}
	return msg + " (" + urlErr.Op + " " + withoutQuery(urlErr.URL) + ")"
}

// withoutQuery drops the query string (and fragment) of a URL as written in an error.
func withoutQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// stamp marks the start of a call: at on the engine's clock (the history's time line),
// t0 on the wall clock (latency is real time even under a test clock).
type stamp struct{ at, t0 time.Time }

func (e *Engine) stamp() stamp { return stamp{at: e.now(), t0: time.Now()} }

// errNotSent reports whether err is our client refusing to send a request.
func errNotSent(err error) bool { return errors.Is(err, alipay.ErrInvalidRequest) }
