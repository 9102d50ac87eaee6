package console

import (
	"net/http"
	"strconv"

	"github.com/f2fpay/f2fpay"
)

// The devices page: the vending machines with their health, and each machine's
// planogram, read-only (docs/console.md "Devices"; the health is docs/vending.md §5,
// the planogram §10). Any staff role may read them, in its merchant's scope; the
// planogram is changed through the admin API (PUT /admin/terminals/{id}/device).

// maxDevicesShown bounds the listing; the admin API pages past it (GET /admin/devices).
const maxDevicesShown = 500

type devicesView struct {
	Devices []*f2fpay.DeviceHealth
	More    bool
}

func (c *Console) devices(w http.ResponseWriter, r *http.Request, s *session) error {
	list, err := c.store.ListDeviceHealth(r.Context(), s.staff.MerchantID, 0, maxDevicesShown)
	if err != nil {
		return err
	}
	v := devicesView{Devices: list, More: len(list) == maxDevicesShown}
	return c.render(w, r, http.StatusOK, "devices", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "devices", Data: v})
}

type deviceView struct {
	Health *f2fpay.DeviceHealth
	Device *f2fpay.Device
}

// device is one machine's health and planogram; another merchant's machine is not
// found, like one that does not exist.
func (c *Console) device(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "device %q is not an id", r.PathValue("id"))
	}
	h, err := c.store.FindDeviceHealth(ctx, id)
	if err != nil || !s.staff.Sees(h.MerchantID) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "device %d not found", id)
	}
	d, err := c.store.FindDevice(ctx, id)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "device", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "devices",
		Data: deviceView{Health: h, Device: d}})
}
