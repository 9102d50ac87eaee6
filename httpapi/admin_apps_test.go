package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
)

// TestAdminAppShowsGateway: which Alipay an app talks to is in every answer about it —
// at creation (production when none is given, said so rather than left implicit), in
// the merchant's listing and when read alone — so an operator following the docs sees
// that an app without "gateway" would charge real buyers.
func TestAdminAppShowsGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ak, _ := keys()
	simApp, err := b.sim.RegisterApp(b.ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	b.must(err)
	auth := "Bearer " + adminToken
	body, _ := json.Marshal(map[string]string{"app_id": simApp.AppID, "private_key": pemPKCS8(ak),
		"alipay_public_key": b.sim.AlipayPublicKey(), "seller_id": simApp.SellerID})
	status, _, out := b.raw(http.MethodPost, fmt.Sprintf("/admin/merchants/%d/apps", b.merchID), auth, "", body)
	var created struct {
		ID      int64   `json:"id"`
		Gateway *string `json:"gateway"`
	}
	if err := json.Unmarshal(out, &created); status != http.StatusCreated || err != nil || created.Gateway == nil || *created.Gateway != alipay.ProductionGateway {
		t.Fatalf("creation without a gateway: %d %s; want 201 with \"gateway\":%q", status, out, alipay.ProductionGateway)
	}

	want := map[int64]string{b.app.ID: b.Sandbox.Gateway(), created.ID: alipay.ProductionGateway}
	status, _, out = b.raw(http.MethodGet, fmt.Sprintf("/admin/merchants/%d/apps", b.merchID), auth, "", nil)
	var list struct {
		Apps []map[string]any `json:"apps"`
	}
	if err := json.Unmarshal(out, &list); status != http.StatusOK || err != nil || len(list.Apps) != 2 {
		t.Fatalf("listing: %d %s", status, out)
	}
	for _, a := range list.Apps {
		if id := int64(a["id"].(float64)); a["gateway"] != want[id] {
			t.Errorf("listing: app %d has gateway %v, want %q", id, a["gateway"], want[id])
		}
	}
	for id, gw := range want {
		status, _, out = b.raw(http.MethodGet, fmt.Sprintf("/admin/apps/%d", id), auth, "", nil)
		var one map[string]any
		if err := json.Unmarshal(out, &one); status != http.StatusOK || err != nil || one["gateway"] != gw {
			t.Errorf("GET /admin/apps/%d: %d %s; want gateway %q", id, status, out, gw)
		}
	}
}
