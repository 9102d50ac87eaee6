package httpapi

import (
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
