package payment

import (
	"context"
	"errors"
	"time"

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
	var ue *alipay.UnknownError
	switch {
	case errors.As(err, &ae):
		c.Code, c.SubCode = ae.Code, ae.SubCode
		c.Message = ae.SubMsg
		if c.Message == "" {
			c.Message = ae.Msg
		}
	case errors.As(err, &ue):
		c.Code = ""
		c.Message = ue.Error()
	case err != nil:
		c.Code = ""
		c.Message = err.Error()
	}
	if len(c.Message) > 500 {
		c.Message = c.Message[:500]
	}
	e.metrics.GatewayCall(method, c.Code, outcome, c.Latency)
	return c
}

// stamp marks the start of a call: at on the engine's clock (the history's time line),
// t0 on the wall clock (latency is real time even under a test clock).
type stamp struct{ at, t0 time.Time }

func (e *Engine) stamp() stamp { return stamp{at: e.now(), t0: time.Now()} }

// errNotSent reports whether err is our client refusing to send a request.
func errNotSent(err error) bool { return errors.Is(err, alipay.ErrInvalidRequest) }
