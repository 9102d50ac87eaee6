package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/f2fpay/f2fpay"
)

// WebhookSecretPurpose is the secret.Box purpose under which a merchant's webhook
// secret is sealed in the store; the webhook sender opens it with the same string.
// (The merchant id is not known before the row exists, so the purpose cannot name it.)
const WebhookSecretPurpose = f2fpay.WebhookSecretPurpose

type merchantRequest struct {
	Name          string `json:"name"`
	WebhookURL    string `json:"webhook_url"`
	WebhookSecret string `json:"webhook_secret"`
	// TerminalsSeeAllOrders lets every terminal see and refund all of the merchant's
	// orders (f2fpay.Merchant.TerminalsSeeAllOrders).
	TerminalsSeeAllOrders bool `json:"terminals_see_all_orders"`
}

// merchantJSON is a merchant as the admin API shows it: the webhook secret is
// write-only, only whether one is set is shown.
type merchantJSON struct {
	*f2fpay.Merchant
	WebhookSecretSet bool `json:"webhook_secret_set"`
}

func (s *Server) adminCreateMerchant(w http.ResponseWriter, r *http.Request) error {
	var req merchantRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	m := &f2fpay.Merchant{Name: req.Name, WebhookURL: req.WebhookURL, TerminalsSeeAllOrders: req.TerminalsSeeAllOrders}
	if err := m.Validate(); err != nil {
		return err
	}
	if req.WebhookURL != "" {
		if len(req.WebhookSecret) < f2fpay.MinWebhookSecretLen {
			return f2fpay.Errorf(f2fpay.EINVALID, "webhook_secret must be at least %d characters when webhook_url is set: your endpoint checks the HMAC-SHA256 signature with it (generate one with `head -c32 /dev/urandom | base64`)", f2fpay.MinWebhookSecretLen)
		}
	} else if req.WebhookSecret != "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "webhook_secret given without webhook_url; set both or neither")
	}
	if req.WebhookSecret != "" {
		sealed, err := s.seal(req.WebhookSecret, WebhookSecretPurpose)
		if err != nil {
			return err
		}
		m.WebhookSecret = sealed
	}
	if err := s.store.CreateMerchant(r.Context(), m); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, merchantJSON{m, m.WebhookSecret != ""})
	return nil
}

func (s *Server) adminListMerchants(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.store.ListMerchants(r.Context())
	if err != nil {
		return err
	}
	out := make([]merchantJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, merchantJSON{m, m.WebhookSecret != ""})
	}
	writeJSON(w, http.StatusOK, map[string]any{"merchants": out})
	return nil
}

func (s *Server) adminGetMerchant(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, merchantJSON{m, m.WebhookSecret != ""})
	return nil
}

// merchantParam loads the merchant named by the {id} path segment.
func (s *Server) merchantParam(r *http.Request) (*f2fpay.Merchant, error) {
	id, err := pathID(r, "id", "merchant id")
	if err != nil {
		return nil, err
	}
	return s.store.FindMerchant(r.Context(), id)
}

// merchantPatch is the body of PATCH /admin/merchants/{id}: absent (or null) fields
// stay as they are.
type merchantPatch struct {
	Name       *string `json:"name"`
	WebhookURL *string `json:"webhook_url"`
	// WebhookSecret is a new secret the operator chose; RotateWebhookSecret asks the
	// service to make one and show it once. At most one of the two.
	WebhookSecret       *string `json:"webhook_secret"`
	RotateWebhookSecret bool    `json:"rotate_webhook_secret"`
	// TerminalsSeeAllOrders turns merchant-wide visibility of orders for its
	// terminals on or off.
	TerminalsSeeAllOrders *bool `json:"terminals_see_all_orders"`
}

// updatedMerchant is the answer of a change: with a secret the service made, that
// secret, shown this once (it is stored sealed and never shown again).
type updatedMerchant struct {
	merchantJSON
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// adminUpdateMerchant changes a merchant's name or webhook. The rules of creation hold
// for the result: a webhook URL needs a secret (at least 16 characters), a secret needs
// a URL; clearing the URL ("") clears the secret. The webhook sender reads the
// merchant at every delivery, so the next webhook (retries of older events included)
// goes to the new URL, signed with the new secret.
func (s *Server) adminUpdateMerchant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "merchant id")
	if err != nil {
		return err
	}
	var req merchantPatch
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	cur, err := s.store.FindMerchant(r.Context(), id)
	if err != nil {
		return err
	}
	upd, made, err := s.merchantUpdate(cur, &req)
	if err != nil {
		return err
	}
	m, err := s.store.UpdateMerchant(r.Context(), cur.ID, upd)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "merchant updated", "merchant_id", m.ID, "name_changed", upd.Name != nil,
		"webhook_url_changed", upd.WebhookURL != nil, "webhook_secret_changed", upd.WebhookSecret != nil,
		"terminals_see_all_orders", m.TerminalsSeeAllOrders)
	writeJSON(w, http.StatusOK, updatedMerchant{merchantJSON{m, m.WebhookSecret != ""}, made})
	return nil
}

// merchantUpdate checks a patch against the merchant as stored. made is the webhook
// secret the service generated, if it was asked to.
func (s *Server) merchantUpdate(cur *f2fpay.Merchant, req *merchantPatch) (upd f2fpay.MerchantUpdate, made string, err error) {
	if req.Name == nil && req.WebhookURL == nil && req.WebhookSecret == nil && !req.RotateWebhookSecret && req.TerminalsSeeAllOrders == nil {
		return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "nothing to change: send at least one of name, webhook_url, webhook_secret, terminals_see_all_orders or \"rotate_webhook_secret\": true")
	}
	upd.TerminalsSeeAllOrders = req.TerminalsSeeAllOrders
	if req.WebhookSecret != nil && req.RotateWebhookSecret {
		return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "send either webhook_secret (a secret you chose) or \"rotate_webhook_secret\": true (the service makes one and shows it once), not both")
	}
	next := *cur // the merchant as it will be, checked as a whole
	if req.Name != nil {
		next.Name = *req.Name
		upd.Name = req.Name
	}
	if req.WebhookURL != nil {
		next.WebhookURL = *req.WebhookURL
		upd.WebhookURL = &next.WebhookURL
	}
	if err := next.Validate(); err != nil {
		return upd, "", err
	}
	hook := next.WebhookURL
	if hook == "" {
		if (req.WebhookSecret != nil && *req.WebhookSecret != "") || req.RotateWebhookSecret {
			return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "webhook secret given but the merchant has no webhook_url; set webhook_url in the same request")
		}
		if cur.WebhookSecret != "" {
			cleared := ""
			upd.WebhookSecret = &cleared // no URL, no secret: as creation requires
		}
		return upd, "", nil
	}
	plain := ""
	switch {
	case req.RotateWebhookSecret:
		made = newWebhookSecret()
		plain = made
	case req.WebhookSecret != nil:
		if len(*req.WebhookSecret) < f2fpay.MinWebhookSecretLen {
			return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "webhook_secret must be at least %d characters: your endpoint checks the HMAC-SHA256 signature with it (generate one with `head -c32 /dev/urandom | base64`, or send \"rotate_webhook_secret\": true to have the service make one)", f2fpay.MinWebhookSecretLen)
		}
		plain = *req.WebhookSecret
	case cur.WebhookSecret == "" && req.WebhookURL != nil:
		return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "the merchant has no webhook secret yet: send webhook_secret (at least %d characters) or \"rotate_webhook_secret\": true with webhook_url, so that your endpoint can check the signatures", f2fpay.MinWebhookSecretLen)
	default:
		return upd, "", nil // the URL changes, the secret stays
	}
	sealed, err := s.seal(plain, WebhookSecretPurpose)
	if err != nil {
		return upd, "", err
	}
	upd.WebhookSecret = &sealed
	return upd, made, nil
}

// newWebhookSecret returns 256 random bits in Standard Webhooks' secret format,
// "whsec_" and standard base64: what the service hands out when asked to rotate a
// merchant's webhook secret. A Standard Webhooks library takes it as it is (the key is
// the decoded bytes, webhook.SigningKey). Secrets made before were base64url without
// padding, whose key is their own bytes.
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("httpapi: crypto/rand failed: " + err.Error())
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
