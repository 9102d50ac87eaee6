// Package merchcache keeps merchants, apps, stores and terminals in memory for the
// stores: every request reads them (a payment its terminal twice, its app and store;
// a notification its app; a webhook its merchant), an operator changes them now and
// then. As queries they were a quarter of a payment's database time.
package merchcache

import (
	"slices"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Cache holds found values, copied in and out so that no caller can change what
// another reads. Values are dropped by Invalidate, which a store calls after every
// committed write of merchant data, and — when the cache has a lifetime — all at once
// when the lifetime has passed since the last drop. A lookup that raced with a write
// (read before it, stored after Invalidate) is not kept: the generation taken before
// the query tells. Unknown keys are not remembered; a kind is emptied if it ever holds
// more than maxCached entries.
//
// How exact that is depends on the store. SQLite's is the database's only writer (its
// lock file), so its cache has no lifetime and is exact. PostgreSQL's is shared by
// instances whose writes it does not see, so its cache has a short lifetime, and the
// lookups that authenticate terminals bypass it.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	gen       uint64
	since     time.Time // when the values were last dropped
	merchants map[int64]f2fpay.Merchant
	apps      map[int64]f2fpay.App
	appIDs    map[string]int64 // Alipay APPID → app id
	stores    map[int64]f2fpay.Store
	terminals map[int64]f2fpay.Terminal
	keyIDs    map[string]int64 // terminal key id → terminal id
}

const maxCached = 10000

// New returns an empty cache whose values live for ttl (0: until Invalidate).
func New(ttl time.Duration) *Cache {
	c := &Cache{ttl: ttl, now: time.Now}
	c.drop()
	return c
}

func (c *Cache) drop() {
	c.gen++
	c.since = c.now()
	c.merchants = map[int64]f2fpay.Merchant{}
	c.apps = map[int64]f2fpay.App{}
	c.appIDs = map[string]int64{}
	c.stores = map[int64]f2fpay.Store{}
	c.terminals = map[int64]f2fpay.Terminal{}
	c.keyIDs = map[string]int64{}
}

// lock takes the mutex and drops values past their lifetime.
func (c *Cache) lock() {
	c.mu.Lock()
	if c.ttl > 0 && c.now().Sub(c.since) >= c.ttl {
		c.drop()
	}
}

// Invalidate forgets everything; call it after every committed write of merchant data.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop()
}

// Generation is taken before a query; the Put methods keep its result only if
// nothing was dropped since.
func (c *Cache) Generation() uint64 {
	c.lock()
	defer c.mu.Unlock()
	return c.gen
}

func cloneTerminal(t f2fpay.Terminal) *f2fpay.Terminal {
	t.KeyHash = slices.Clone(t.KeyHash)
	return &t
}

func (c *Cache) Merchant(id int64) (*f2fpay.Merchant, bool) {
	c.lock()
	defer c.mu.Unlock()
	m, ok := c.merchants[id]
	return &m, ok
}

func (c *Cache) PutMerchant(gen uint64, m *f2fpay.Merchant) {
	c.lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.merchants) < maxCached {
		c.merchants[m.ID] = *m
	}
}

func (c *Cache) App(id int64) (*f2fpay.App, bool) {
	c.lock()
	defer c.mu.Unlock()
	a, ok := c.apps[id]
	return &a, ok
}

func (c *Cache) AppByAppID(appID string) (*f2fpay.App, bool) {
	c.lock()
	defer c.mu.Unlock()
	a, ok := c.apps[c.appIDs[appID]]
	return &a, ok && a.AppID == appID
}

func (c *Cache) PutApp(gen uint64, a *f2fpay.App) {
	c.lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.apps) < maxCached {
		c.apps[a.ID] = *a
		c.appIDs[a.AppID] = a.ID
	}
}

func (c *Cache) Store(id int64) (*f2fpay.Store, bool) {
	c.lock()
	defer c.mu.Unlock()
	s, ok := c.stores[id]
	return &s, ok
}

func (c *Cache) PutStore(gen uint64, s *f2fpay.Store) {
	c.lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.stores) < maxCached {
		c.stores[s.ID] = *s
	}
}

func (c *Cache) Terminal(id int64) (*f2fpay.Terminal, bool) {
	c.lock()
	defer c.mu.Unlock()
	t, ok := c.terminals[id]
	if !ok {
		return nil, false
	}
	return cloneTerminal(t), true
}

func (c *Cache) TerminalByKeyID(keyID string) (*f2fpay.Terminal, bool) {
	c.lock()
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

func (c *Cache) PutTerminal(gen uint64, t *f2fpay.Terminal) {
	c.lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.terminals) < maxCached {
		c.terminals[t.ID] = *cloneTerminal(*t)
		if t.KeyID != "" {
			c.keyIDs[t.KeyID] = t.ID
		}
	}
}
