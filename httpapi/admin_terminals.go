package httpapi

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"

	"github.com/f2fpay/f2fpay"
)

type terminalRequest struct {
	StoreID    int64  `json:"store_id"`
	AppID      int64  `json:"app_id"`
	Code       string `json:"code"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	SignedOnly bool   `json:"signed_only"`
}

// APIKey is a terminal's credential, shown once at creation or rotation. The secret
// is sent as a bearer token (checked against its SHA-256) or signs requests (checked
// with the secret sealed under the master key, see signature.go); either way it cannot
// be shown again, so a lost secret means a rotated key, not a lookup.
type APIKey struct {
	KeyID  string `json:"key_id"`
	Secret string `json:"secret"`
	// Authorization is the header value to send as a bearer token; absent for a
	// terminal restricted to signed requests.
	Authorization string `json:"authorization,omitempty"`
}

// terminalJSON is a terminal as the admin API shows it: never its key's hash or its
// sealed signing secret, only whether it can sign requests.
type terminalJSON struct {
	*f2fpay.Terminal
	SignedRequests bool `json:"signed_requests"`
}

func showTerminal(t *f2fpay.Terminal) terminalJSON {
	return terminalJSON{Terminal: t, SignedRequests: t.SigningSecret != ""}
}

type createdTerminal struct {
	terminalJSON
	APIKey APIKey `json:"api_key"`
}

// storedKey is what the store keeps of a new key: the hash of the secret and, when the
// service has a master key, the secret sealed for signed requests. Without a master
// key the terminal gets a working key that can only be sent as a bearer token.
func (s *Server) storedKey(key APIKey) (f2fpay.TerminalKey, error) {
	k := f2fpay.TerminalKey{KeyID: key.KeyID, KeyHash: HashSecret(key.Secret)}
	if s.box != nil {
		sealed, err := s.box.Seal(key.Secret, f2fpay.TerminalSigningPurpose(key.KeyID))
		if err != nil {
			return k, err
		}
		k.SigningSecret = sealed
	}
	return k, nil
}

// newKey makes a terminal a new key and what the store keeps of it. For a
// signed-only terminal the key must be able to sign (unsignable is the error if this
// service cannot seal its secret) and comes without a bearer header to paste.
func (s *Server) newKey(signedOnly bool, unsignable error) (APIKey, f2fpay.TerminalKey, error) {
	key := NewAPIKey()
	stored, err := s.storedKey(key)
	if err != nil {
		return key, stored, err
	}
	if signedOnly {
		if stored.SigningSecret == "" {
			return key, stored, unsignable
		}
		key.Authorization = ""
	}
	return key, stored, nil
}

// NewAPIKey returns a fresh terminal key: a public id and a 256-bit secret. The id
// has no '.', which separates the two halves in the Authorization header.
func NewAPIKey() APIKey {
	id := make([]byte, 8)
	sec := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		panic("httpapi: crypto/rand failed: " + err.Error())
	}
	rand.Read(sec)
	k := APIKey{KeyID: "tk_" + hex.EncodeToString(id), Secret: base64.RawURLEncoding.EncodeToString(sec)}
	k.Authorization = "Bearer " + k.KeyID + "." + k.Secret
	return k
}

func (s *Server) adminCreateTerminal(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	var req terminalRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.buildTerminal(r, m, &req)
	if err != nil {
		return err
	}
	key, stored, err := s.newKey(req.SignedOnly, f2fpay.Errorf(f2fpay.EINVALID, "signed_only needs a key that can sign requests, and this service has no master key to seal its signing secret with; start the service with a master key (-master-key or F2FPAY_MASTER_KEY)"))
	if err != nil {
		return err
	}
	t.KeyID, t.KeyHash, t.SigningSecret = stored.KeyID, stored.KeyHash, stored.SigningSecret
	t.SignedOnly = req.SignedOnly
	if err := s.store.CreateTerminal(r.Context(), t); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "terminal created", "merchant_id", m.ID, "terminal_id", t.ID, "key_id", t.KeyID,
		"signed_requests", t.SigningSecret != "", "signed_only", t.SignedOnly)
	writeJSON(w, http.StatusCreated, createdTerminal{showTerminal(t), key})
	return nil
}

func (s *Server) buildTerminal(r *http.Request, m *f2fpay.Merchant, req *terminalRequest) (*f2fpay.Terminal, error) {
	t := &f2fpay.Terminal{MerchantID: m.ID, Code: req.Code, Kind: cmp.Or(f2fpay.TerminalKind(req.Kind), f2fpay.TerminalCashier), Name: req.Name}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if req.AppID <= 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "app_id is required: the id (from POST /admin/merchants/%d/apps) of the app this terminal collects with", m.ID)
	}
	app, err := s.store.FindApp(r.Context(), req.AppID)
	if err == nil && app.ISV && app.MerchantID != m.ID {
		// A service provider's app: the merchant collects with it once it authorised it.
		if _, aerr := s.store.FindAuthorization(r.Context(), app.ID, m.ID); f2fpay.ErrorCode(aerr) == f2fpay.ENOTFOUND {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "merchant %d has not authorised service-provider app %d; send it the link of POST /admin/apps/%d/authorizations/link first", m.ID, app.ID, app.ID)
		} else if aerr != nil {
			return nil, aerr
		}
	} else if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND || (err == nil && app.MerchantID != m.ID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "app_id %d is not an app of merchant %d", req.AppID, m.ID)
	} else if err != nil {
		return nil, err
	}
	if req.StoreID <= 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "store_id is required: the id (from POST /admin/merchants/%d/stores) of the store the terminal stands in", m.ID)
	}
	st, err := s.store.FindStore(r.Context(), req.StoreID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND || (err == nil && st.MerchantID != m.ID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "store_id %d is not a store of merchant %d", req.StoreID, m.ID)
	} else if err != nil {
		return nil, err
	}
	t.StoreID, t.AppID = st.ID, app.ID
	return t, nil
}

func (s *Server) adminListTerminals(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	ts, err := s.store.ListTerminals(r.Context(), m.ID)
	if err != nil {
		return err
	}
	out := make([]terminalJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, showTerminal(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"terminals": out})
	return nil
}

func (s *Server) terminalParam(r *http.Request) (*f2fpay.Terminal, error) {
	id, err := pathID(r, "id", "terminal id")
	if err != nil {
		return nil, err
	}
	return s.store.FindTerminal(r.Context(), id)
}

func (s *Server) adminGetTerminal(w http.ResponseWriter, r *http.Request) error {
	t, err := s.terminalParam(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showTerminal(t))
	return nil
}

func (s *Server) adminDisableTerminal(w http.ResponseWriter, r *http.Request) error {
	return s.setDisabled(w, r, true)
}
func (s *Server) adminEnableTerminal(w http.ResponseWriter, r *http.Request) error {
	return s.setDisabled(w, r, false)
}

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	t, err := s.terminalParam(r)
	if err != nil {
		return err
	}
	if err := s.store.SetTerminalDisabled(r.Context(), t.ID, disabled); err != nil {
		return err
	}
	t.Disabled = disabled
	s.log.InfoContext(r.Context(), "terminal disabled changed", "terminal_id", t.ID, "disabled", disabled)
	writeJSON(w, http.StatusOK, showTerminal(t))
	return nil
}

// adminRotateTerminalKey gives a terminal a new API key, shown once in the answer as
// at creation. The old key stops working at once, on every instance: authentication
// looks the key id up in the store on every request, and that lookup is never stale
// (SQLite's in-memory copy is cleared by the rotation; PostgreSQL's store does not
// cache lookups by key id). The
// terminal stays disabled if it was (rotate, hand over the key, then enable).
func (s *Server) adminRotateTerminalKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.decodeEmpty(w, r); err != nil {
		return err
	}
	t, err := s.terminalParam(r)
	if err != nil {
		return err
	}
	// A new key that could not sign would lock a signed-only terminal out.
	key, stored, err := s.newKey(t.SignedOnly, f2fpay.Errorf(f2fpay.EINVALID, "terminal %q accepts only signed requests, and this service has no master key to seal a new key's signing secret with; start it with a master key, or lift the restriction first (PATCH /admin/terminals/%d {\"signed_only\":false})", t.Code, t.ID))
	if err != nil {
		return err
	}
	n, err := s.store.RotateTerminalKey(r.Context(), t.ID, stored)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "terminal key rotated", "merchant_id", n.MerchantID, "terminal_id", n.ID, "old_key_id", t.KeyID,
		"key_id", n.KeyID, "signed_requests", n.SigningSecret != "")
	writeJSON(w, http.StatusOK, createdTerminal{showTerminal(n), key})
	return nil
}

// terminalPatch is the body of PATCH /admin/terminals/{id}.
type terminalPatch struct {
	SignedOnly *bool `json:"signed_only"`
}

// adminUpdateTerminal changes what can be changed of a terminal in place: whether it
// accepts its API key as a bearer token (signed_only). Restricting a terminal whose
// key cannot sign (made without a master key) is refused: it would lock the terminal
// out; rotate its key first.
func (s *Server) adminUpdateTerminal(w http.ResponseWriter, r *http.Request) error {
	t, err := s.terminalParam(r)
	if err != nil {
		return err
	}
	var req terminalPatch
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.SignedOnly == nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "nothing to change: send {\"signed_only\": true} to accept only signed requests from this terminal, or false to accept its key as a bearer token again")
	}
	if *req.SignedOnly && t.SigningSecret == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "terminal %q has a key that cannot sign requests (it was made without a master key); rotate its key (POST /admin/terminals/%d/rotate-key) on a service with a master key, then restrict it", t.Code, t.ID)
	}
	if err := s.store.SetTerminalSignedOnly(r.Context(), t.ID, *req.SignedOnly); err != nil {
		return err
	}
	t.SignedOnly = *req.SignedOnly
	s.log.InfoContext(r.Context(), "terminal signed_only changed", "terminal_id", t.ID, "signed_only", t.SignedOnly)
	writeJSON(w, http.StatusOK, showTerminal(t))
	return nil
}
