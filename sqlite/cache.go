package sqlite

import (
	"slices"
	"sync"

	"github.com/f2fpay/f2fpay"
)

// merchantCache keeps the merchants, apps, stores and terminals that every request
// reads (a payment reads its terminal twice, its app, its store; a notification its
// app; a webhook its merchant) — a quarter of a payment's database time when each is
// a query. It is exact, not a cache with a lifetime: the lock file makes this process
// the database's only writer, and every write of merchant data goes through this DB
// and clears the cache once committed (the one-instance property that lets SQLite's
// store be simple; the PostgreSQL store, shared by instances, reads every time).
//
// A lookup that raced with a write (read before the write, stored after it cleared
// the cache) is not stored: the generation tells. Values are copied in and out, so no
// caller can change what another reads. Unknown keys are not remembered; the cache is
// emptied if it ever holds more than maxCached entries of a kind.
type merchantCache struct {
	mu        sync.Mutex
	gen       uint64
	merchants map[int64]f2fpay.Merchant
	apps      map[int64]f2fpay.App
	appIDs    map[string]int64 // Alipay APPID → app id
	stores    map[int64]f2fpay.Store
	terminals map[int64]f2fpay.Terminal
	keyIDs    map[string]int64 // terminal key id → terminal id
}

const maxCached = 10000

func newMerchantCache() *merchantCache {
	c := &merchantCache{}
	c.reset()
	return c
}

func (c *merchantCache) reset() {
	c.merchants = map[int64]f2fpay.Merchant{}
	c.apps = map[int64]f2fpay.App{}
	c.appIDs = map[string]int64{}
	c.stores = map[int64]f2fpay.Store{}
	c.terminals = map[int64]f2fpay.Terminal{}
	c.keyIDs = map[string]int64{}
}

// invalidate forgets everything; called after every committed write of merchant data.
func (c *merchantCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.reset()
}

// generation is taken before a query; store* keep its result only if no write
// happened since.
func (c *merchantCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func cloneTerminal(t f2fpay.Terminal) *f2fpay.Terminal {
	t.KeyHash = slices.Clone(t.KeyHash)
	return &t
}

func (c *merchantCache) merchant(id int64) (*f2fpay.Merchant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.merchants[id]
	return &m, ok
}

func (c *merchantCache) storeMerchant(gen uint64, m *f2fpay.Merchant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.merchants) < maxCached {
		c.merchants[m.ID] = *m
	}
}

func (c *merchantCache) app(id int64) (*f2fpay.App, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[id]
	return &a, ok
}

func (c *merchantCache) appByAppID(appID string) (*f2fpay.App, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[c.appIDs[appID]]
	return &a, ok && a.AppID == appID
}

func (c *merchantCache) storeApp(gen uint64, a *f2fpay.App) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.apps) < maxCached {
		c.apps[a.ID] = *a
		c.appIDs[a.AppID] = a.ID
	}
}

func (c *merchantCache) store(id int64) (*f2fpay.Store, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stores[id]
	return &s, ok
}

func (c *merchantCache) storeStore(gen uint64, s *f2fpay.Store) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.stores) < maxCached {
		c.stores[s.ID] = *s
	}
}

func (c *merchantCache) terminal(id int64) (*f2fpay.Terminal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.terminals[id]
	if !ok {
		return nil, false
	}
	return cloneTerminal(t), true
}

func (c *merchantCache) terminalByKeyID(keyID string) (*f2fpay.Terminal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.keyIDs[keyID]
	if !ok {
		return nil, false
	}
	t, ok := c.terminals[id]
	if !ok || t.KeyID != keyID {
		return nil, false
	}
	return cloneTerminal(t), true
}

func (c *merchantCache) storeTerminal(gen uint64, t *f2fpay.Terminal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.terminals) < maxCached {
		c.terminals[t.ID] = *cloneTerminal(*t)
		if t.KeyID != "" {
			c.keyIDs[t.KeyID] = t.ID
		}
	}
}
