package merchcache

import (
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// TestCache: values come back as copies; Invalidate and the lifetime drop them; a
// lookup that raced with a write is not kept.
func TestCache(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := New(time.Second)
	c.now = func() time.Time { return now }
	c.Invalidate()

	gen := c.Generation()
	c.PutTerminal(gen, &f2fpay.Terminal{ID: 7, KeyID: "tk_7", KeyHash: []byte{1}, Name: "till"})
	c.PutApp(gen, &f2fpay.App{ID: 3, AppID: "2021000000000003", Gateway: "g"})
	got, ok := c.Terminal(7)
	if !ok || got.Name != "till" {
		t.Fatalf("Terminal(7) = %+v, %v", got, ok)
	}
	got.KeyHash[0], got.Name = 9, "changed"
	if again, _ := c.TerminalByKeyID("tk_7"); again == nil || again.KeyHash[0] != 1 || again.Name != "till" {
		t.Errorf("a caller's change reached the cache: %+v", again)
	}
	if a, ok := c.AppByAppID("2021000000000003"); !ok || a.ID != 3 {
		t.Errorf("AppByAppID = %+v, %v", a, ok)
	}
	if _, ok := c.AppByAppID("2021000000000004"); ok {
		t.Error("an unknown APPID was found")
	}

	// A lookup that started before a write is not kept after it.
	stale := c.Generation()
	c.Invalidate()
	c.PutStore(stale, &f2fpay.Store{ID: 5, Name: "old"})
	if _, ok := c.Store(5); ok {
		t.Error("a value read before Invalidate was kept")
	}

	// The lifetime drops everything at once.
	gen = c.Generation()
	c.PutMerchant(gen, &f2fpay.Merchant{ID: 1, Name: "m"})
	now = now.Add(999 * time.Millisecond)
	if _, ok := c.Merchant(1); !ok {
		t.Error("a value was dropped before its lifetime")
	}
	now = now.Add(time.Millisecond)
	if _, ok := c.Merchant(1); ok {
		t.Error("a value outlived its lifetime")
	}

	// Without a lifetime, only Invalidate drops.
	forever := New(0)
	forever.now = func() time.Time { return now }
	forever.PutMerchant(forever.Generation(), &f2fpay.Merchant{ID: 1})
	now = now.Add(24 * time.Hour)
	if _, ok := forever.Merchant(1); !ok {
		t.Error("a cache without a lifetime dropped a value")
	}
}
