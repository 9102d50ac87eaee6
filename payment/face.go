package payment

import (
	"context"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// FaceSession is what a face device needs to scan a face (docs/vending.md §1): the
// session id and the client data its face SDK takes.
type FaceSession struct {
	ZimID             string `json:"zim_id"`
	ZimInitClientData string `json:"zim_init_client_data"`
}

// FaceInitialize starts a face session for a terminal's device with the metainfo its
// face SDK gave (zoloz.authentication.customer.smilepay.initialize): the merchant's
// server calls Alipay, never the device, which must not hold the merchant key.
// Errors: EINVALID for metainfo that is not the SDK's JSON object or that Alipay
// refuses, EUNAVAILABLE when Alipay did not answer (initialise again).
func (e *Engine) FaceInitialize(ctx context.Context, terminalID int64, metainfo string) (*FaceSession, error) {
	_, _, _, c, err := e.terminal(ctx, terminalID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	r, err := c.CustomerSmilepayInitialize(cctx, metainfo, c.Options()...)
	e.tokenRefused(ctx, c, err)
	switch {
	case err == nil:
		return &FaceSession{ZimID: r.ZimID, ZimInitClientData: r.ZimInitClientData}, nil
	case errNotSent(err):
		// Refused by our own client before any call: the metainfo is not what the
		// device's face SDK gives.
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "metainfo: %v", err)
	case alipay.IsUnknown(err):
		return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "Alipay did not answer the face initialisation; initialise again")
	default:
		if ae, ok := alipay.AsError(err); ok {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "Alipay refused the face initialisation: %s", failMessage(ae.Code, ae.SubCode, ae.SubMsg))
		}
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "face initialisation: %v", err)
	}
}
