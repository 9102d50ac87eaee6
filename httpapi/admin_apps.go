package httpapi

import (
	"cmp"
	"errors"
	"net/http"
	"os"
	"sort"
	"strconv"
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
	// ISV registers a service provider's app, which collects for the merchants that
	// authorise it (POST /admin/apps/{id}/authorizations/link).
	ISV bool `json:"isv"`
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

func (s *Server) adminCreateApp(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	var req appRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.buildApp(m, &req)
	if err != nil {
		return err
	}
	if err := s.store.CreateApp(r.Context(), a); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "app created", "merchant_id", m.ID, "app_id", a.AppID, "gateway", a.Gateway, "key_mode", a.KeyMode)
	writeJSON(w, http.StatusCreated, showApp(a))
	return nil
}

// buildApp validates an app request and seals its secrets. Error messages never quote
// the private key or the token: they name the field and what is wrong with it.
func (s *Server) buildApp(m *f2fpay.Merchant, req *appRequest) (*f2fpay.App, error) {
	a := &f2fpay.App{
		MerchantID: m.ID, AppID: req.AppID, Name: req.Name, Gateway: gatewayOr(req.Gateway), SignType: signTypeOr(req.SignType),
		KeyMode: keyModeOr(req.KeyMode), SellerID: req.SellerID, SysServiceProviderID: req.SysServiceProviderID, ISV: req.ISV,
		AlipayPublicKey: req.AlipayPublicKey, AppCert: req.AppCert, AlipayCert: req.AlipayCert, AlipayRootCert: req.AlipayRootCert,
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if req.PrivateKey == "" {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "private_key is required: the app private key as PEM or base64, or \"file:/path/to/key.pem\"")
	}
	key, err := readPrivateKey(req.PrivateKey)
	if err != nil {
		return nil, err
	}
	if a.PrivateKey, err = s.storePrivateKey(req.PrivateKey, a.AppID); err != nil {
		return nil, err
	}
	if a.AppAuthToken, err = s.sealAppAuthToken(req.AppAuthToken, a.AppID); err != nil {
		return nil, err
	}
	if err := checkAlipayKeys(a); err != nil {
		return nil, err
	}
	if err := checkKeysTogether(a, key); err != nil {
		return nil, err
	}
	return a, nil
}

// The checks below are shared by creation (POST) and change (PATCH), so an app can
// never be changed into something creation would have refused.

// The defaults of an app's settings, for a field a request leaves empty; the values
// are then checked by f2fpay.App.Validate.

func gatewayOr(v string) string { return cmp.Or(v, alipay.ProductionGateway) }

func signTypeOr(v string) string { return cmp.Or(v, string(alipay.RSA2)) }

func keyModeOr(v string) f2fpay.KeyMode { return cmp.Or(f2fpay.KeyMode(v), f2fpay.KeyModePublicKey) }

// readPrivateKey returns the app private key behind v (PEM, base64, or a "file:"
// reference, read now) after checking that it parses, so that a wrong key is refused
// now, not at the first payment. The result is for checks only: never stored, logged
// or quoted.
func readPrivateKey(v string) (string, error) {
	keyText := v
	if secret.IsReference(v) {
		path := strings.TrimPrefix(v, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return "", f2fpay.Errorf(f2fpay.EINVALID, "private_key: the file %q cannot be read by the service; check the path and its permissions", path)
		}
		keyText = string(b)
	}
	if _, err := alipay.ParsePrivateKey(keyText); err != nil {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "private_key: %v", err)
	}
	return keyText, nil
}

// storePrivateKey is what the store keeps for a private key: the "file:" reference as
// it is, anything else sealed for the app.
func (s *Server) storePrivateKey(v, appID string) (string, error) {
	if secret.IsReference(v) {
		return v, nil
	}
	return s.seal(v, payment.PrivateKeyPurpose(appID))
}

// sealAppAuthToken checks and seals an app_auth_token; "" stays "" (no token).
func (s *Server) sealAppAuthToken(v, appID string) (string, error) {
	if v == "" {
		return "", nil
	}
	if err := f2fpay.CheckText("app_auth_token", v, false, 128); err != nil {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "app_auth_token is not a token: at most 128 printable characters, as the authorisation returned it")
	}
	return s.seal(v, payment.AppAuthTokenPurpose(appID))
}

// checkAlipayKeys checks the fields of the app's key mode: the Alipay public key in
// public-key mode, the three certificates in certificate mode.
func checkAlipayKeys(a *f2fpay.App) error {
	switch a.KeyMode {
	case f2fpay.KeyModePublicKey:
		if a.AlipayPublicKey == "" {
			return f2fpay.Errorf(f2fpay.EINVALID, "alipay_public_key is required in key_mode public_key: the Alipay public key (支付宝公钥) from the app's console page")
		}
		if _, err := alipay.ParsePublicKey(a.AlipayPublicKey); err != nil {
			return f2fpay.Errorf(f2fpay.EINVALID, "alipay_public_key: %v", err)
		}
		if a.AppCert != "" || a.AlipayCert != "" || a.AlipayRootCert != "" {
			return f2fpay.Errorf(f2fpay.EINVALID, "certificates given in key_mode public_key; set key_mode to \"cert\" to use them, or leave them out")
		}
	case f2fpay.KeyModeCert:
		for _, c := range []struct{ field, v, what string }{
			{"app_cert", a.AppCert, "the app public key certificate (appCertPublicKey_<appid>.crt)"},
			{"alipay_cert", a.AlipayCert, "Alipay's public key certificate (alipayCertPublicKey_RSA2.crt)"},
			{"alipay_root_cert", a.AlipayRootCert, "Alipay's root certificate bundle (alipayRootCert.crt)"},
		} {
			if c.v == "" {
				return f2fpay.Errorf(f2fpay.EINVALID, "%s is required in key_mode cert: %s, as PEM", c.field, c.what)
			}
			if _, err := alipay.ParseCertificates([]byte(c.v)); err != nil {
				return f2fpay.Errorf(f2fpay.EINVALID, "%s: %v", c.field, err)
			}
		}
	}
	return nil
}

// checkKeysTogether builds the Alipay client the payment engine would build from a
// and the private key in the clear, and refuses the app when that fails: it catches
// what each field alone cannot show — the app's own public key given as the Alipay
// public key (every answer would fail verification), an app certificate that is not
// the private key's. alipay.New's messages never contain key material.
func checkKeysTogether(a *f2fpay.App, privateKey string) error {
	cfg := alipay.Config{AppID: a.AppID, PrivateKey: privateKey, Gateway: a.Gateway, SignType: alipay.SignType(a.SignType), DisableCertDownload: true}
	if a.KeyMode == f2fpay.KeyModeCert {
		cfg.AppCert, cfg.AlipayCert, cfg.AlipayRootCert = []byte(a.AppCert), []byte(a.AlipayCert), []byte(a.AlipayRootCert)
	} else {
		cfg.AlipayPublicKey = a.AlipayPublicKey
	}
	if _, err := alipay.New(cfg); err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "the keys do not fit together: %s", strings.TrimPrefix(err.Error(), "alipay: "))
	}
	return nil
}

func (s *Server) adminListApps(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	as, err := s.store.ListApps(r.Context(), m.ID)
	if err != nil {
		return err
	}
	out := make([]appJSON, 0, len(as))
	for _, a := range as {
		out = append(out, showApp(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
	return nil
}

func (s *Server) adminGetApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "app id")
	if err != nil {
		return err
	}
	a, err := s.store.FindApp(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", appETag(a))
	writeJSON(w, http.StatusOK, showApp(a))
	return nil
}

// appPatch is the body of PATCH /admin/apps/{id}: absent (or null) fields stay as
// they are. app_id is there only to refuse it with a clear message.
type appPatch struct {
	AppID                *string `json:"app_id"`
	Name                 *string `json:"name"`
	Gateway              *string `json:"gateway"`
	SignType             *string `json:"sign_type"`
	KeyMode              *string `json:"key_mode"`
	PrivateKey           *string `json:"private_key"`
	AlipayPublicKey      *string `json:"alipay_public_key"`
	AppCert              *string `json:"app_cert"`
	AlipayCert           *string `json:"alipay_cert"`
	AlipayRootCert       *string `json:"alipay_root_cert"`
	SellerID             *string `json:"seller_id"`
	AppAuthToken         *string `json:"app_auth_token"`
	SysServiceProviderID *string `json:"sys_service_provider_id"`
}

// adminUpdateApp changes an app. The merged result is checked as creation checks a new
// app (keys that parse and fit together), so a change can never leave the app
// unusable; a key change that fails leaves the stored app as it was. The engine of
// every instance picks the change up at its next call to Alipay (see
// payment.AppClients). Sending private_key with the same "file:" reference makes the
// service read the (replaced) file again.
//
// Concurrent changes. The patch is checked against the app as read, then written as a
// compare-and-set on that version: a change that landed in between (another
// administrator, another instance) makes the write fail rather than combine, say, a
// new private key checked against the old certificate with a new certificate checked
// against the old key. The check then runs again on the app as it now is, up to
// three times. An administrator who wants their own read-modify-write cycle protected
// sends If-Match with the ETag of the app they read ("<version>", as GET and PATCH
// answer it): a patch of any other version is refused with 412, never retried.
func (s *Server) adminUpdateApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "app id")
	if err != nil {
		return err
	}
	ifMatch, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var req appPatch
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		cur, err := s.store.FindApp(r.Context(), id)
		if err != nil {
			return err
		}
		if ifMatch != 0 && cur.Version != ifMatch {
			return appPreconditionFailed(cur, ifMatch)
		}
		upd, changed, err := s.appUpdate(cur, &req)
		if err != nil {
			return err
		}
		upd.IfVersion = cur.Version
		a, err := s.store.UpdateApp(r.Context(), cur.ID, upd)
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			if ifMatch != 0 {
				return appPreconditionFailed(cur, ifMatch)
			}
			if attempt < 3 {
				continue // check the patch again against the app as it now is
			}
		}
		if err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "app updated", "merchant_id", a.MerchantID, "app_id", a.AppID, "version", a.Version, "fields", strings.Join(changed, ","))
		w.Header().Set("ETag", appETag(a))
		writeJSON(w, http.StatusOK, showApp(a))
		return nil
	}
}

// appETag is an app's entity tag: its version, which every change moves.
func appETag(a *f2fpay.App) string { return `"` + strconv.FormatInt(a.Version, 10) + `"` }

// ifMatchVersion reads If-Match as an app version ("7", as appETag makes it); 0 when
// the header is absent or "*".
func ifMatchVersion(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 1 || !strings.HasPrefix(h, `"`) || !strings.HasSuffix(h, `"`) || len(h) < 3 {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "If-Match %q is not an app's ETag: send the ETag header of GET /admin/apps/{id} as it came (a quoted version, such as \"3\"), or no If-Match", h)
	}
	return v, nil
}

func appPreconditionFailed(cur *f2fpay.App, ifMatch int64) error {
	return withStatus(http.StatusPreconditionFailed, f2fpay.ECONFLICT,
		"app %d is at version %d, not %d (If-Match): it changed since you read it; read it again, check your change against it, and send it with the new ETag",
		cur.ID, cur.Version, ifMatch)
}

// appUpdate checks a patch against the app as stored and returns the update that
// names the fields whose stored value changes, and the names of the fields the patch
// gave (for the log).
func (s *Server) appUpdate(cur *f2fpay.App, req *appPatch) (f2fpay.AppUpdate, []string, error) {
	var upd f2fpay.AppUpdate
	if req.AppID != nil && *req.AppID != cur.AppID {
		return upd, nil, f2fpay.Errorf(f2fpay.EINVALID, "app_id cannot be changed: it is the app's identity at Alipay, its secrets are sealed for it and notifications name it; register the other APPID as a new app (POST /admin/merchants/%d/apps) and move the terminals", cur.MerchantID)
	}
	var given []string
	for name, v := range map[string]*string{
		"name": req.Name, "gateway": req.Gateway, "sign_type": req.SignType, "key_mode": req.KeyMode, "private_key": req.PrivateKey,
		"alipay_public_key": req.AlipayPublicKey, "app_cert": req.AppCert, "alipay_cert": req.AlipayCert,
		"alipay_root_cert": req.AlipayRootCert, "seller_id": req.SellerID, "app_auth_token": req.AppAuthToken,
		"sys_service_provider_id": req.SysServiceProviderID,
	} {
		if v != nil {
			given = append(given, name)
		}
	}
	if len(given) == 0 {
		return upd, nil, f2fpay.Errorf(f2fpay.EINVALID, "nothing to change: send at least one of name, gateway, sign_type, key_mode, private_key, alipay_public_key, app_cert, alipay_cert, alipay_root_cert, seller_id, app_auth_token, sys_service_provider_id")
	}
	sort.Strings(given)

	next := *cur // the app as it will be, checked as a whole
	var err error
	for _, f := range []struct {
		v   *string
		dst *string
		or  func(string) string
	}{
		{req.Name, &next.Name, nil}, {req.Gateway, &next.Gateway, gatewayOr}, {req.SignType, &next.SignType, signTypeOr},
		{req.SellerID, &next.SellerID, nil}, {req.SysServiceProviderID, &next.SysServiceProviderID, nil},
	} {
		if f.v != nil {
			*f.dst = *f.v
			if f.or != nil {
				*f.dst = f.or(*f.v)
			}
		}
	}
	if req.KeyMode != nil {
		next.KeyMode = keyModeOr(*req.KeyMode)
	}
	if err := next.Validate(); err != nil {
		return upd, nil, err
	}
	if req.AppAuthToken != nil {
		if next.AppAuthToken, err = s.sealAppAuthToken(*req.AppAuthToken, cur.AppID); err != nil {
			return upd, nil, err
		}
	}

	// The keys. A changed mode drops the other mode's fields unless the patch gives them
	// (and then checkAlipayKeys refuses certificates in public-key mode, as creation does).
	keysChanged := req.KeyMode != nil || req.PrivateKey != nil || req.AlipayPublicKey != nil || req.AppCert != nil ||
		req.AlipayCert != nil || req.AlipayRootCert != nil || req.SignType != nil
	if next.KeyMode != cur.KeyMode {
		next.AlipayPublicKey, next.AppCert, next.AlipayCert, next.AlipayRootCert = "", "", "", ""
	}
	for _, f := range []struct {
		v   *string
		dst *string
	}{
		{req.AlipayPublicKey, &next.AlipayPublicKey}, {req.AppCert, &next.AppCert},
		{req.AlipayCert, &next.AlipayCert}, {req.AlipayRootCert, &next.AlipayRootCert},
	} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	var key string
	if req.PrivateKey != nil {
		if *req.PrivateKey == "" {
			return upd, nil, f2fpay.Errorf(f2fpay.EINVALID, "private_key cannot be removed: an app signs every request with it; send the new key as PEM or base64, or \"file:/path/to/key.pem\"")
		}
		if key, err = readPrivateKey(*req.PrivateKey); err != nil {
			return upd, nil, err
		}
		if next.PrivateKey, err = s.storePrivateKey(*req.PrivateKey, cur.AppID); err != nil {
			return upd, nil, err
		}
	}
	if keysChanged {
		if err := checkAlipayKeys(&next); err != nil {
			return upd, nil, err
		}
		if key == "" {
			// The stored key, to check the new Alipay keys against it.
			if s.box == nil {
				return upd, nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "the service has no master key configured, so it cannot read the app's private key to check the change; start it with a master key")
			}
			if key, err = s.box.Open(cur.PrivateKey, payment.PrivateKeyPurpose(cur.AppID)); err != nil {
				return upd, nil, f2fpay.Errorf(f2fpay.EINVALID, "the app's stored private key cannot be read (%s), so the change cannot be checked against it; send private_key too", cleanSecretError(err))
			}
		}
		if err := checkKeysTogether(&next, key); err != nil {
			return upd, nil, err
		}
	}

	// Name only what changes, so that a concurrent change of other fields is kept.
	for _, f := range []struct {
		dst      **string
		old, new string
	}{
		{&upd.Name, cur.Name, next.Name}, {&upd.Gateway, cur.Gateway, next.Gateway}, {&upd.SignType, cur.SignType, next.SignType},
		{&upd.PrivateKey, cur.PrivateKey, next.PrivateKey}, {&upd.AlipayPublicKey, cur.AlipayPublicKey, next.AlipayPublicKey},
		{&upd.AppCert, cur.AppCert, next.AppCert}, {&upd.AlipayCert, cur.AlipayCert, next.AlipayCert},
		{&upd.AlipayRootCert, cur.AlipayRootCert, next.AlipayRootCert}, {&upd.SellerID, cur.SellerID, next.SellerID},
		{&upd.AppAuthToken, cur.AppAuthToken, next.AppAuthToken}, {&upd.SysServiceProviderID, cur.SysServiceProviderID, next.SysServiceProviderID},
	} {
		if f.old != f.new {
			v := f.new
			*f.dst = &v
		}
	}
	if next.KeyMode != cur.KeyMode {
		upd.KeyMode = &next.KeyMode
	}
	return upd, given, nil
}

// cleanSecretError says why a stored secret did not open without repeating the stored
// value or the key file's content.
func cleanSecretError(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "its key file is missing"
	}
	if errors.Is(err, os.ErrPermission) {
		return "its key file is not readable by the service"
	}
	return strings.TrimPrefix(err.Error(), "secret: ")
}
