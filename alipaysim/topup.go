package alipaysim

import (
	"context"
	"net/http"

	"github.com/f2fpay/f2fpay"
)

// maxBuyerBalance bounds what top-ups can bring a buyer's balance to: a thousand times
// Alipay's largest trade, far beyond any test, far below int64 fen.
const maxBuyerBalance = 1000 * f2fpay.MaxAmount

// TopUp adds amount to a buyer's balance, as a bank transfer into Alipay would. It is
// how a scripted buyer (the demo's, a long test's) keeps paying run after run without
// a new account each time.
func (s *Sim) TopUp(ctx context.Context, userID string, amount f2fpay.Amount) (*Buyer, error) {
	if amount <= 0 || amount > f2fpay.MaxAmount {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "amount must be from 0.01 to %s", f2fpay.MaxAmount)
	}
	var b *Buyer
	err := s.e.update(ctx, func(t *txn) error {
		b = t.buyerW(userID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q; create one with POST /sandbox/buyers", userID)
		}
		if b.Balance+amount > maxBuyerBalance {
			return f2fpay.Errorf(f2fpay.EINVALID, "the balance would exceed %s", maxBuyerBalance)
		}
		b.Balance += amount
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.clone(), nil
}

// postTopUp is POST /sandbox/buyers/{user_id}/top-up {"amount": "1000.00"}.
func (s *Sim) postTopUp(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Amount f2fpay.Amount `json:"amount"`
	}
	if err := s.decode(r, &body); err != nil {
		writeError(w, err)
		return
	}
	b, err := s.TopUp(r.Context(), r.PathValue("user_id"), body.Amount)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}
