package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"

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
}

// merchantJSON is a merchant as the admin API shows it: the webhook secret is
// write-only, only whether one is set is shown.
type merchantJSON struct {
	*f2fpay.Merchant
	WebhookSecretSet bool `json:"webhook_secret_set"`
}

func (s *Server) adminCreateMerchant(w http.ResponseWriter, r *http.Request) {
	var req merchantRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := checkText("name", req.Name, true, 128); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.WebhookURL != "" {
		if err := checkHTTPURL("webhook_url", req.WebhookURL); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if len(req.WebhookSecret) < 16 {
			writeError(w, r, s.log, f2fpay.Errorf(f2fpay.EINVALID, "webhook_secret must be at least 16 characters when webhook_url is set: your endpoint checks the HMAC-SHA256 signature with it (generate one with `head -c32 /dev/urandom | base64`)"))
			return
		}
	} else if req.WebhookSecret != "" {
		writeError(w, r, s.log, f2fpay.Errorf(f2fpay.EINVALID, "webhook_secret given without webhook_url; set both or neither"))
		return
	}
	m := &f2fpay.Merchant{Name: req.Name, WebhookURL: req.WebhookURL}
	if req.WebhookSecret != "" {
		sealed, err := s.seal(req.WebhookSecret, WebhookSecretPurpose)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		m.WebhookSecret = sealed
	}
	if err := s.store.CreateMerchant(r.Context(), m); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, merchantJSON{m, m.WebhookSecret != ""})
}

func (s *Server) adminListMerchants(w http.ResponseWriter, r *http.Request) {
	ms, err := s.store.ListMerchants(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]merchantJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, merchantJSON{m, m.WebhookSecret != ""})
	}
	writeJSON(w, http.StatusOK, map[string]any{"merchants": out})
}

func (s *Server) adminGetMerchant(w http.ResponseWriter, r *http.Request) {
	m, err := s.merchantParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, merchantJSON{m, m.WebhookSecret != ""})
}

// merchantParam loads the merchant named by the {id} path segment.
func (s *Server) merchantParam(r *http.Request) (*f2fpay.Merchant, error) {
	id, err := pathID(r, "id", "merchant id")
	if err != nil {
		return nil, err
	}
	return s.store.FindMerchant(r.Context(), id)
}

func pathID(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "%s %q in the path is not a positive whole number", what, v)
	}
	return id, nil
}

func checkHTTPURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "%s %q is not an absolute http(s) URL; write it like https://example.com/path", field, v)
	}
	return nil
}

// decode reads and decodes a JSON request body (bounded).
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// seal encrypts a secret for storage; a "file:" reference is stored as it is.
func (s *Server) seal(plain, purpose string) (string, error) {
	if s.box == nil {
		return "", f2fpay.Errorf(f2fpay.EUNAVAILABLE, "the service has no master key configured, so it cannot store secrets; start it with a master key")
	}
	return s.box.Seal(plain, purpose)
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
func (s *Server) adminUpdateMerchant(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "merchant id")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var req merchantPatch
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	cur, err := s.store.FindMerchant(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	upd, made, err := s.merchantUpdate(cur, &req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	m, err := s.store.UpdateMerchant(r.Context(), cur.ID, upd)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.InfoContext(r.Context(), "merchant updated", "merchant_id", m.ID, "name_changed", upd.Name != nil,
		"webhook_url_changed", upd.WebhookURL != nil, "webhook_secret_changed", upd.WebhookSecret != nil)
	writeJSON(w, http.StatusOK, updatedMerchant{merchantJSON{m, m.WebhookSecret != ""}, made})
}

// merchantUpdate checks a patch against the merchant as stored. made is the webhook
// secret the service generated, if it was asked to.
func (s *Server) merchantUpdate(cur *f2fpay.Merchant, req *merchantPatch) (upd f2fpay.MerchantUpdate, made string, err error) {
	if req.Name == nil && req.WebhookURL == nil && req.WebhookSecret == nil && !req.RotateWebhookSecret {
		return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "nothing to change: send at least one of name, webhook_url, webhook_secret or \"rotate_webhook_secret\": true")
	}
	if req.WebhookSecret != nil && req.RotateWebhookSecret {
		return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "send either webhook_secret (a secret you chose) or \"rotate_webhook_secret\": true (the service makes one and shows it once), not both")
	}
	if req.Name != nil {
		if err := checkText("name", *req.Name, true, 128); err != nil {
			return upd, "", err
		}
		upd.Name = req.Name
	}
	hook := cur.WebhookURL
	if req.WebhookURL != nil {
		hook = *req.WebhookURL
		if hook != "" {
			if err := checkHTTPURL("webhook_url", hook); err != nil {
				return upd, "", err
			}
		}
		upd.WebhookURL = &hook
	}
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
		if len(*req.WebhookSecret) < 16 {
			return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "webhook_secret must be at least 16 characters: your endpoint checks the HMAC-SHA256 signature with it (generate one with `head -c32 /dev/urandom | base64`, or send \"rotate_webhook_secret\": true to have the service make one)")
		}
		plain = *req.WebhookSecret
	case cur.WebhookSecret == "" && req.WebhookURL != nil:
		return upd, "", f2fpay.Errorf(f2fpay.EINVALID, "the merchant has no webhook secret yet: send webhook_secret (at least 16 characters) or \"rotate_webhook_secret\": true with webhook_url, so that your endpoint can check the signatures")
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

// newWebhookSecret returns 256 random bits, base64url: what the service hands out
// when asked to rotate a merchant's webhook secret.
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("httpapi: crypto/rand failed: " + err.Error())
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}
