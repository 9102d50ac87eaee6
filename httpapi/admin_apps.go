package httpapi

import (
	"net/http"
	"os"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

type appRequest struct {
	AppID    string `json:"app_id"`
	Name     string `json:"name"`
	Gateway  string `json:"gateway"`
	SignType string `json:"sign_type"`
	KeyMode  string `json:"key_mode"`
	// PrivateKey is PEM, bare base64, or "file:/path" (a file the operator manages,
	// read at use and never copied into the database).
	PrivateKey           string `json:"private_key"`
	AlipayPublicKey      string `json:"alipay_public_key"`
	AppCert              string `json:"app_cert"`
	AlipayCert           string `json:"alipay_cert"`
	AlipayRootCert       string `json:"alipay_root_cert"`
	SellerID             string `json:"seller_id"`
	AppAuthToken         string `json:"app_auth_token"`
	SysServiceProviderID string `json:"sys_service_provider_id"`
}

// appJSON is an app as the admin API shows it. The private key and app_auth_token
// never leave the service: only whether they are set, and whether the key is a file
// reference, are shown.
type appJSON struct {
	*f2fpay.App
	PrivateKeySet    bool   `json:"private_key_set"`
	PrivateKeySource string `json:"private_key_source"` // "sealed" or "file"
	AppAuthTokenSet  bool   `json:"app_auth_token_set"`
}

func showApp(a *f2fpay.App) appJSON {
	src := "sealed"
	if secret.IsReference(a.PrivateKey) {
		src = "file"
	}
	return appJSON{App: a, PrivateKeySet: a.PrivateKey != "", PrivateKeySource: src, AppAuthTokenSet: a.AppAuthToken != ""}
}

func (s *Server) adminCreateApp(w http.ResponseWriter, r *http.Request) {
	m, err := s.merchantParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var req appRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := s.buildApp(m, &req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.store.CreateApp(r.Context(), a); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.InfoContext(r.Context(), "app created", "merchant_id", m.ID, "app_id", a.AppID, "key_mode", a.KeyMode)
	writeJSON(w, http.StatusCreated, showApp(a))
}

// buildApp validates an app request and seals its secrets. Error messages never quote
// the private key or the token: they name the field and what is wrong with it.
func (s *Server) buildApp(m *f2fpay.Merchant, req *appRequest) (*f2fpay.App, error) {
	if err := checkID("app_id", req.AppID, true, 32); err != nil {
		return nil, err
	}
	if err := checkText("name", req.Name, false, 128); err != nil {
		return nil, err
	}
	a := &f2fpay.App{
		MerchantID: m.ID, AppID: req.AppID, Name: req.Name, Gateway: req.Gateway, SignType: req.SignType,
		KeyMode: f2fpay.KeyMode(req.KeyMode), SellerID: req.SellerID, SysServiceProviderID: req.SysServiceProviderID,
	}
	if a.Gateway == "" {
		a.Gateway = alipay.ProductionGateway
	} else if err := checkHTTPURL("gateway", a.Gateway); err != nil {
		return nil, err
	}
	switch a.SignType {
	case "":
		a.SignType = string(alipay.RSA2)
	case string(alipay.RSA2), string(alipay.RSA):
	default:
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "sign_type %q is not supported; use RSA2 (or RSA for old apps)", a.SignType)
	}
	if !isPID(a.SellerID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "seller_id %q is not an Alipay account id; send the merchant's PID, 16 digits starting with 2088 (every notification is checked against it)", a.SellerID)
	}
	if a.SysServiceProviderID != "" && !isPID(a.SysServiceProviderID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "sys_service_provider_id %q is not an Alipay PID; send 16 digits starting with 2088, or leave it out", a.SysServiceProviderID)
	}

	// The private key: parse it (from the file for a reference) so a wrong key is
	// refused now, not at the first payment; then seal it or keep the reference.
	if req.PrivateKey == "" {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "private_key is required: the app private key as PEM or base64, or \"file:/path/to/key.pem\"")
	}
	keyText := req.PrivateKey
	if secret.IsReference(req.PrivateKey) {
		path := strings.TrimPrefix(req.PrivateKey, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "private_key: the file %q cannot be read by the service; check the path and its permissions", path)
		}
		keyText = string(b)
	}
	if _, err := alipay.ParsePrivateKey(keyText); err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "private_key: %v", err)
	}
	if secret.IsReference(req.PrivateKey) {
		a.PrivateKey = req.PrivateKey
	} else {
		sealed, err := s.seal(req.PrivateKey, payment.PrivateKeyPurpose(a.AppID))
		if err != nil {
			return nil, err
		}
		a.PrivateKey = sealed
	}
	if req.AppAuthToken != "" {
		if err := checkText("app_auth_token", req.AppAuthToken, false, 128); err != nil {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "app_auth_token is not a token: at most 128 printable characters, as the authorisation returned it")
		}
		sealed, err := s.seal(req.AppAuthToken, payment.AppAuthTokenPurpose(a.AppID))
		if err != nil {
			return nil, err
		}
		a.AppAuthToken = sealed
	}

	switch a.KeyMode {
	case "", f2fpay.KeyModePublicKey:
		a.KeyMode = f2fpay.KeyModePublicKey
		if req.AlipayPublicKey == "" {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "alipay_public_key is required in key_mode public_key: the Alipay public key (支付宝公钥) from the app's console page")
		}
		if _, err := alipay.ParsePublicKey(req.AlipayPublicKey); err != nil {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "alipay_public_key: %v", err)
		}
		if req.AppCert != "" || req.AlipayCert != "" || req.AlipayRootCert != "" {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "certificates given in key_mode public_key; set key_mode to \"cert\" to use them, or leave them out")
		}
		a.AlipayPublicKey = req.AlipayPublicKey
	case f2fpay.KeyModeCert:
		for _, c := range []struct{ field, v, what string }{
			{"app_cert", req.AppCert, "the app public key certificate (appCertPublicKey_<appid>.crt)"},
			{"alipay_cert", req.AlipayCert, "Alipay's public key certificate (alipayCertPublicKey_RSA2.crt)"},
			{"alipay_root_cert", req.AlipayRootCert, "Alipay's root certificate bundle (alipayRootCert.crt)"},
		} {
			if c.v == "" {
				return nil, f2fpay.Errorf(f2fpay.EINVALID, "%s is required in key_mode cert: %s, as PEM", c.field, c.what)
			}
			if _, err := alipay.ParseCertificates([]byte(c.v)); err != nil {
				return nil, f2fpay.Errorf(f2fpay.EINVALID, "%s: %v", c.field, err)
			}
		}
		a.AppCert, a.AlipayCert, a.AlipayRootCert = req.AppCert, req.AlipayCert, req.AlipayRootCert
		a.AlipayPublicKey = req.AlipayPublicKey
	default:
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "key_mode %q is not known; use \"public_key\" (Alipay public key) or \"cert\" (certificates)", req.KeyMode)
	}
	return a, nil
}

func isPID(v string) bool {
	if len(v) != 16 || !strings.HasPrefix(v, "2088") {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *Server) adminListApps(w http.ResponseWriter, r *http.Request) {
	m, err := s.merchantParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	as, err := s.store.ListApps(r.Context(), m.ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]appJSON, 0, len(as))
	for _, a := range as {
		out = append(out, showApp(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func (s *Server) adminGetApp(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "app id")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := s.store.FindApp(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, showApp(a))
}
