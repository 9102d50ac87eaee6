package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
	"github.com/f2fpay/f2fpay/client"
)

// The management pages (docs/console.md "Management"): an owner creates and edits
// merchants, apps, stores and terminals, uploads an app's keys or certificates with
// the diagnosis of `f2fpay keys check` (alipay/appkey) shown in the page, enables and
// disables terminals and rotates their keys (the new secret shown once). Every change
// goes through the admin API's Go client (Config.Admin), which serve connects to the
// admin API in process: the console applies the same checks, seals the same secrets
// and logs the same lines as the admin API, and holds no sealing code of its own. The
// pages read merchants, apps and terminals from the store and show no secret: an app
// shows only whether its private key is set, never the key; the master key is never
// read here.

// InProcess returns an HTTP client whose requests are answered by the handler h
// returns, without a network: how the console reaches the admin API of its own
// service (h is called at each request, so serve can build the API after the console).
func InProcess(h func() http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport(h)}
}

type handlerTransport func() http.Handler

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t().ServeHTTP(rec, r)
	return rec.Result(), nil
}

// maxUploadBytes bounds a form with key files: a private key and three certificates
// are a few kilobytes each.
const maxUploadBytes = 128 << 10

// canManage: only owners manage; a merchant's owner only that merchant.
func (c *Console) canManage(s *session, merchantID int64) bool {
	return s.staff.Role == f2fpay.RoleOwner && s.staff.Sees(merchantID)
}

type merchantsView struct {
	Merchants  []*f2fpay.Merchant
	CanCreate  bool
	HasAdmin   bool
	Problem    string
	Thresholds map[int64]string
}

func (c *Console) merchants(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.staff.Role != f2fpay.RoleOwner {
		return errForbidden
	}
	return c.renderMerchants(w, r, s, http.StatusOK, "")
}

func (c *Console) renderMerchants(w http.ResponseWriter, r *http.Request, s *session, status int, problem string) error {
	ms, err := c.store.ListMerchants(r.Context())
	if err != nil {
		return err
	}
	v := merchantsView{CanCreate: s.staff.MerchantID == 0, HasAdmin: c.admin != nil, Problem: problem, Thresholds: map[int64]string{}}
	for _, m := range ms {
		if s.staff.Sees(m.ID) {
			v.Merchants = append(v.Merchants, m)
			if lim, ok, err := c.approval.RefundApprovalAbove(r.Context(), m.ID); err != nil {
				return err
			} else if ok {
				v.Thresholds[m.ID] = "¥" + lim.String()
			}
		}
	}
	return c.render(w, r, status, "merchants", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "merchants", Data: v})
}

// adminErr turns an admin API error into the message the page shows; an error that
// is not the admin API's answer (none is expected in process) is returned.
func adminErr(err error) (string, error) {
	if err == nil {
		return "", nil
	}
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Code == client.EINTERNAL {
		return "", err
	}
	return ae.Message, nil
}

func (c *Console) createMerchant(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.staff.Role != f2fpay.RoleOwner || s.staff.MerchantID != 0 || c.admin == nil {
		c.record(r.Context(), r, s.staff, s.staff.MerchantID, "manage_refused", "merchant", "role "+string(s.staff.Role))
		return errForbidden
	}
	f := r.PostForm
	m, err := c.admin.CreateMerchant(r.Context(), client.MerchantRequest{Name: strings.TrimSpace(f.Get("name")),
		WebhookURL: strings.TrimSpace(f.Get("webhook_url"))})
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchants(w, r, s, http.StatusBadRequest, msg)
	}
	if err := c.record(r.Context(), r, s.staff, m.ID, "merchant_created", fmt.Sprintf("merchant %d", m.ID), m.Name); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/console/merchants/%d", m.ID), http.StatusSeeOther)
	return nil
}

type merchantView struct {
	M          *f2fpay.Merchant
	Apps       []*f2fpay.App
	Stores     []*f2fpay.Store
	Terminals  []*f2fpay.Terminal
	Threshold  string
	HasAdmin   bool
	Problem    string
	Done       string
	Diagnosis  []diagnosis
	NewKey     *newKey
	Kinds      []f2fpay.TerminalKind
	AppNames   map[int64]string
	StoreNames map[int64]string
}

// diagnosis is one report of appkey.Check, as `f2fpay keys check` prints it.
type diagnosis struct {
	What   string
	Failed bool
	Text   string
}

// newKey is a terminal's API key, shown once after creation or rotation.
type newKey struct {
	Terminal      string
	KeyID, Secret string
	Authorization string
}

func (c *Console) merchantID(r *http.Request, s *session) (*f2fpay.Merchant, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no merchant %q", r.PathValue("id"))
	}
	if !s.staff.Sees(id) {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "merchant %d not found", id)
	}
	return c.store.FindMerchant(r.Context(), id)
}

func (c *Console) merchant(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.staff.Role != f2fpay.RoleOwner {
		return errForbidden
	}
	m, err := c.merchantID(r, s)
	if err != nil {
		return err
	}
	return c.renderMerchant(w, r, s, m, http.StatusOK, merchantView{})
}

func (c *Console) renderMerchant(w http.ResponseWriter, r *http.Request, s *session, m *f2fpay.Merchant, status int, v merchantView) error {
	ctx := r.Context()
	var err error
	v.M, v.HasAdmin, v.Kinds = m, c.admin != nil, []f2fpay.TerminalKind{f2fpay.TerminalCashier, f2fpay.TerminalVending}
	if v.Apps, err = c.store.ListApps(ctx, m.ID); err != nil {
		return err
	}
	if v.Stores, err = c.store.ListStores(ctx, m.ID); err != nil {
		return err
	}
	if v.Terminals, err = c.store.ListTerminals(ctx, m.ID); err != nil {
		return err
	}
	v.AppNames, v.StoreNames = map[int64]string{}, map[int64]string{}
	for _, a := range v.Apps {
		v.AppNames[a.ID] = a.AppID + " " + a.Name
	}
	for _, st := range v.Stores {
		v.StoreNames[st.ID] = st.Code + " " + st.Name
	}
	if lim, ok, err := c.approval.RefundApprovalAbove(ctx, m.ID); err != nil {
		return err
	} else if ok {
		v.Threshold = lim.String()
	}
	return c.render(w, r, status, "merchant", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "merchants", Data: v})
}

// manageMerchant is the start of every management POST on a merchant: the owner's
// role and scope, and the admin API to change things through.
func (c *Console) manageMerchant(r *http.Request, s *session, what string) (*f2fpay.Merchant, error) {
	if s.staff.Role != f2fpay.RoleOwner || c.admin == nil {
		c.record(r.Context(), r, s.staff, s.staff.MerchantID, "manage_refused", what+" of merchant "+r.PathValue("id"), "role "+string(s.staff.Role))
		return nil, errForbidden
	}
	return c.merchantID(r, s)
}

func (c *Console) updateMerchant(w http.ResponseWriter, r *http.Request, s *session) error {
	m, err := c.manageMerchant(r, s, "settings")
	if err != nil {
		return err
	}
	f := r.PostForm
	name, hook := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("webhook_url"))
	seeAll := f.Get("terminals_see_all_orders") == "on"
	// The threshold first: it is the console's own setting, checked here.
	limit := f2fpay.Amount(-1)
	if t := strings.TrimSpace(f.Get("approval_above")); t != "" {
		if limit, err = f2fpay.ParseAmount(t); err != nil || limit < 0 {
			return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: fmt.Sprintf("%s: %q", s.lang.t("approval.above"), t)})
		}
	}
	_, err = c.admin.UpdateMerchant(r.Context(), m.ID, client.MerchantUpdate{Name: &name, WebhookURL: &hook, TerminalsSeeAllOrders: &seeAll})
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: msg})
	}
	if err := c.approval.SetRefundApprovalAbove(r.Context(), m.ID, limit); err != nil {
		return err
	}
	detail := fmt.Sprintf("name %q, webhook_url %q, terminals_see_all_orders %v, approval_above %s", name, hook, seeAll, limitText(limit))
	if err := c.record(r.Context(), r, s.staff, m.ID, "merchant_updated", fmt.Sprintf("merchant %d", m.ID), detail); err != nil {
		return err
	}
	if m, err = c.store.FindMerchant(r.Context(), m.ID); err != nil {
		return err
	}
	return c.renderMerchant(w, r, s, m, http.StatusOK, merchantView{Done: s.lang.t("saved")})
}

func limitText(a f2fpay.Amount) string {
	if a < 0 {
		return "none"
	}
	return a.String()
}

// upload reads a key field of a multipart form: the file chosen, else the text pasted.
func upload(r *http.Request, name string) string {
	if f, _, err := r.FormFile(name + "_file"); err == nil {
		defer f.Close()
		b, _ := io.ReadAll(io.LimitReader(f, maxUploadBytes))
		if len(bytes.TrimSpace(b)) > 0 {
			return string(b)
		}
	}
	return strings.TrimSpace(r.PostForm.Get(name))
}

// diagnose runs the diagnosis of `f2fpay keys check` on what the form uploaded: the
// private key with the app certificate (certificate mode), the private key alone and
// Alipay's public key alone (public-key mode). Reports never quote a private key.
func diagnose(appID, mode, private, alipayPub, appCert string) []diagnosis {
	var out []diagnosis
	in := func(flag, data string) *appkey.Input {
		if data == "" {
			return nil
		}
		return &appkey.Input{Flag: flag, Source: "uploaded " + flag, Data: []byte(data)}
	}
	run := func(what string, req appkey.Request) {
		if req.Private == nil && req.Public == nil {
			return
		}
		req.AppID = appID
		rep := appkey.Check(req)
		var b strings.Builder
		rep.WriteTo(&b)
		out = append(out, diagnosis{What: what, Failed: rep.Failed(), Text: b.String()})
	}
	if mode == string(f2fpay.KeyModeCert) {
		run("private_key + app_cert", appkey.Request{Private: in("private_key", private), Public: in("app_cert", appCert)})
		return out
	}
	run("private_key", appkey.Request{Private: in("private_key", private)})
	run("alipay_public_key", appkey.Request{Public: in("alipay_public_key", alipayPub)})
	return out
}

func failed(ds []diagnosis) bool {
	for _, d := range ds {
		if d.Failed {
			return true
		}
	}
	return false
}

func (c *Console) createApp(w http.ResponseWriter, r *http.Request, s *session) error {
	m, err := c.manageMerchant(r, s, "app")
	if err != nil {
		return err
	}
	f := r.PostForm
	req := client.AppRequest{AppID: strings.TrimSpace(f.Get("app_id")), Name: strings.TrimSpace(f.Get("name")),
		Gateway: strings.TrimSpace(f.Get("gateway")), KeyMode: f.Get("key_mode"), SellerID: strings.TrimSpace(f.Get("seller_id")),
		PrivateKey: upload(r, "private_key"), AlipayPublicKey: upload(r, "alipay_public_key"), AppCert: upload(r, "app_cert"),
		AlipayCert: upload(r, "alipay_cert"), AlipayRootCert: upload(r, "alipay_root_cert")}
	ds := diagnose(req.AppID, req.KeyMode, req.PrivateKey, req.AlipayPublicKey, req.AppCert)
	if failed(ds) {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: s.lang.t("keys.failed"), Diagnosis: ds})
	}
	a, err := c.admin.CreateApp(r.Context(), m.ID, req)
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: msg, Diagnosis: ds})
	}
	if err := c.record(r.Context(), r, s.staff, m.ID, "app_created", "app "+a.AppID, "key_mode "+a.KeyMode+", private key "+a.PrivateKeySource); err != nil {
		return err
	}
	return c.renderMerchant(w, r, s, m, http.StatusCreated, merchantView{Done: s.lang.t("app.created") + " " + a.AppID, Diagnosis: ds})
}

// updateAppKeys replaces an app's keys or certificates: the fields uploaded change,
// the others stay.
func (c *Console) updateAppKeys(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no app %q", r.PathValue("id"))
	}
	if s.staff.Role != f2fpay.RoleOwner || c.admin == nil {
		c.record(r.Context(), r, s.staff, s.staff.MerchantID, "manage_refused", "keys of app "+r.PathValue("id"), "role "+string(s.staff.Role))
		return errForbidden
	}
	a, err := c.store.FindApp(r.Context(), id)
	if err != nil {
		return err
	}
	if !s.staff.Sees(a.MerchantID) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "app %d not found", id)
	}
	m, err := c.store.FindMerchant(r.Context(), a.MerchantID)
	if err != nil {
		return err
	}
	var upd client.AppUpdate
	var changed []string
	set := func(field string, dst **string) string {
		v := upload(r, field)
		if v != "" {
			*dst = &v
			changed = append(changed, field)
		}
		return v
	}
	// The app's settings, when the form changes them.
	for _, fv := range []struct {
		field, stored string
		dst           **string
	}{{"name", a.Name, &upd.Name}, {"gateway", a.Gateway, &upd.Gateway}, {"seller_id", a.SellerID, &upd.SellerID}} {
		if v, ok := r.PostForm[fv.field]; ok && strings.TrimSpace(v[0]) != fv.stored {
			x := strings.TrimSpace(v[0])
			*fv.dst = &x
			changed = append(changed, fv.field)
		}
	}
	priv := set("private_key", &upd.PrivateKey)
	pub := set("alipay_public_key", &upd.AlipayPublicKey)
	appCert := set("app_cert", &upd.AppCert)
	set("alipay_cert", &upd.AlipayCert)
	set("alipay_root_cert", &upd.AlipayRootCert)
	if mode := r.PostForm.Get("key_mode"); mode != "" && mode != string(a.KeyMode) {
		upd.KeyMode = &mode
		changed = append(changed, "key_mode")
	}
	if len(changed) == 0 {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: s.lang.t("keys.none")})
	}
	mode := string(a.KeyMode)
	if upd.KeyMode != nil {
		mode = *upd.KeyMode
	}
	ds := diagnose(a.AppID, mode, priv, pub, appCert)
	if failed(ds) {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: s.lang.t("keys.failed"), Diagnosis: ds})
	}
	_, err = c.admin.UpdateApp(r.Context(), a.ID, upd)
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: msg, Diagnosis: ds})
	}
	if err := c.record(r.Context(), r, s.staff, m.ID, "app_keys_updated", "app "+a.AppID, strings.Join(changed, ", ")); err != nil {
		return err
	}
	return c.renderMerchant(w, r, s, m, http.StatusOK, merchantView{Done: s.lang.t("keys.updated") + " " + a.AppID, Diagnosis: ds})
}

func (c *Console) createStore(w http.ResponseWriter, r *http.Request, s *session) error {
	m, err := c.manageMerchant(r, s, "store")
	if err != nil {
		return err
	}
	st, err := c.admin.CreateStore(r.Context(), m.ID, strings.TrimSpace(r.PostForm.Get("code")), strings.TrimSpace(r.PostForm.Get("name")))
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: msg})
	}
	if err := c.record(r.Context(), r, s.staff, m.ID, "store_created", "store "+st.Code, st.Name); err != nil {
		return err
	}
	return c.renderMerchant(w, r, s, m, http.StatusCreated, merchantView{Done: s.lang.t("store.created") + " " + st.Code})
}

func (c *Console) createTerminal(w http.ResponseWriter, r *http.Request, s *session) error {
	m, err := c.manageMerchant(r, s, "terminal")
	if err != nil {
		return err
	}
	f := r.PostForm
	storeID, _ := strconv.ParseInt(f.Get("store_id"), 10, 64)
	appID, _ := strconv.ParseInt(f.Get("app_id"), 10, 64)
	t, err := c.admin.CreateTerminal(r.Context(), m.ID, client.TerminalRequest{StoreID: storeID, AppID: appID,
		Code: strings.TrimSpace(f.Get("code")), Kind: f.Get("kind"), Name: strings.TrimSpace(f.Get("name")), SignedOnly: f.Get("signed_only") == "on"})
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: msg})
	}
	if err := c.record(r.Context(), r, s.staff, m.ID, "terminal_created", "terminal "+t.Code, "key_id "+t.KeyID); err != nil {
		return err
	}
	return c.renderMerchant(w, r, s, m, http.StatusCreated, merchantView{Done: s.lang.t("terminal.created") + " " + t.Code, NewKey: shownOnce(t)})
}

func shownOnce(t *client.Terminal) *newKey {
	if t.APIKey == nil {
		return nil
	}
	return &newKey{Terminal: t.Code, KeyID: t.APIKey.KeyID, Secret: t.APIKey.Secret, Authorization: t.APIKey.Authorization}
}

// terminalAction disables, enables a terminal or rotates its key.
func (c *Console) terminalAction(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no terminal %q", r.PathValue("id"))
	}
	action := r.PathValue("action")
	if action != "disable" && action != "enable" && action != "rotate-key" {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no terminal action %q", action)
	}
	if s.staff.Role != f2fpay.RoleOwner || c.admin == nil {
		c.record(r.Context(), r, s.staff, s.staff.MerchantID, "manage_refused", action+" terminal "+r.PathValue("id"), "role "+string(s.staff.Role))
		return errForbidden
	}
	t0, err := c.store.FindTerminal(r.Context(), id)
	if err != nil {
		return err
	}
	if !s.staff.Sees(t0.MerchantID) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "terminal %d not found", id)
	}
	m, err := c.store.FindMerchant(r.Context(), t0.MerchantID)
	if err != nil {
		return err
	}
	var t *client.Terminal
	switch action {
	case "disable", "enable":
		t, err = c.admin.SetTerminalDisabled(r.Context(), id, action == "disable")
	default:
		t, err = c.admin.RotateTerminalKey(r.Context(), id)
	}
	if msg, err := adminErr(err); err != nil {
		return err
	} else if msg != "" {
		return c.renderMerchant(w, r, s, m, http.StatusBadRequest, merchantView{Problem: msg})
	}
	detail := ""
	if action == "rotate-key" {
		detail = "old key_id " + t0.KeyID + ", new key_id " + t.KeyID
	}
	if err := c.record(r.Context(), r, s.staff, m.ID, "terminal_"+strings.ReplaceAll(action, "-", "_"), "terminal "+t0.Code, detail); err != nil {
		return err
	}
	v := merchantView{Done: s.lang.t("terminal."+action) + " " + t0.Code}
	if action == "rotate-key" {
		v.NewKey = shownOnce(t)
	}
	return c.renderMerchant(w, r, s, m, http.StatusOK, v)
}
