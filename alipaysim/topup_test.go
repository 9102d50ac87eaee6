package alipaysim

import "testing"

func TestTopUp(t *testing.T) {
	b := setup(t)
	st, by := b.ctl("POST", "/sandbox/buyers", `{"balance":"1.00"}`)
	if st != 201 {
		t.Fatalf("create buyer: %d %v", st, by)
	}
	uid := by["user_id"].(string)
	for _, c := range []struct {
		path, body string
		status     int
		balance    string
	}{
		{"/sandbox/buyers/" + uid + "/top-up", `{"amount":"998.99"}`, 200, "999.99"},
		{"/sandbox/buyers/" + uid + "/top-up", `{"amount":"0.01"}`, 200, "1000.00"},
		{"/sandbox/buyers/" + uid + "/top-up", `{}`, 400, ""},
		{"/sandbox/buyers/" + uid + "/top-up", `{"amount":"-1.00"}`, 400, ""},
		{"/sandbox/buyers/2088000000000000/top-up", `{"amount":"1.00"}`, 404, ""},
	} {
		st, out := b.ctl("POST", c.path, c.body)
		if st != c.status || (c.balance != "" && out["balance"] != c.balance) || (st != 200 && out["error"] == "") {
			t.Errorf("POST %s %s: %d %v; want %d balance %q", c.path, c.body, st, out, c.status, c.balance)
		}
	}
	if got, _ := b.sim.Buyer(uid); got.Balance.String() != "1000.00" {
		t.Errorf("balance %s after the refused top-ups, want 1000.00", got.Balance)
	}
}
