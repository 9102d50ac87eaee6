package alipaysim

import (
	"context"
	"encoding/json"
	"sync"
)

// Store persists the sandbox's state. The engine keeps the working copy in memory and
// hands every mutation to Commit as one Changes value, which the store must apply
// atomically (one transaction): a crash leaves either all of a payment's effects — trade,
// both balances, the used code, the notification — or none.
//
// Records given to Commit are never modified afterwards (the engine copies on write), so
// a store may keep them.
type Store interface {
	// Load returns everything stored, or an empty State for a new store.
	Load(ctx context.Context) (*State, error)
	// Commit applies changes atomically.
	Commit(ctx context.Context, changes *Changes) error
	Close() error
}

// Meta is the sandbox-wide state.
type Meta struct {
	// Seq numbers every generated identifier, so ids stay unique across restarts while
	// still following from the seed.
	Seq uint64 `json:"seq"`
	// AlipayKey is the sandbox's own "Alipay" private key, PKCS#8 PEM, generated on first
	// start.
	AlipayKey string `json:"alipay_key"`
}

// State is a whole stored sandbox.
type State struct {
	Meta          *Meta
	Apps          []*App
	Buyers        []*Buyer
	Codes         []*Code
	Trades        []*Trade
	Notifications []*Notification
	// Records are the generic records (OAuth, accounts, ISV grants, bill links,
	// heartbeats) as stored.
	Records []RawRecord
}

// Changes is one transaction's worth of new or updated records.
type Changes struct {
	Meta          *Meta
	Apps          []*App
	Buyers        []*Buyer
	Codes         []*Code
	DeletedCodes  []string // codes purged after their retention
	Trades        []*Trade
	Notifications []*Notification
	Records       []Record
}

func (c *Changes) empty() bool {
	return c.Meta == nil && len(c.Apps) == 0 && len(c.Buyers) == 0 && len(c.Codes) == 0 && len(c.DeletedCodes) == 0 &&
		len(c.Trades) == 0 && len(c.Notifications) == 0 && len(c.Records) == 0
}

// MemoryStore keeps state in memory only; it is what the sandbox uses without --data.
// Handing its State to a new Sim (as restart tests do) behaves like a restart.
type MemoryStore struct {
	mu     sync.Mutex
	meta   *Meta
	apps   map[string]*App
	buyers map[string]*Buyer
	codes  map[string]*Code
	trades map[string]*Trade
	notifs map[string]*Notification
	recs   map[string]RawRecord // kind + "\x00" + id
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		apps: map[string]*App{}, buyers: map[string]*Buyer{}, codes: map[string]*Code{},
		trades: map[string]*Trade{}, notifs: map[string]*Notification{}, recs: map[string]RawRecord{},
	}
}

// Load implements Store.
func (m *MemoryStore) Load(context.Context) (*State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &State{}
	if m.meta != nil {
		c := *m.meta
		s.Meta = &c
	}
	for _, a := range m.apps {
		s.Apps = append(s.Apps, a.clone())
	}
	for _, b := range m.buyers {
		s.Buyers = append(s.Buyers, b.clone())
	}
	for _, c := range m.codes {
		s.Codes = append(s.Codes, c.clone())
	}
	for _, t := range m.trades {
		s.Trades = append(s.Trades, t.clone())
	}
	for _, n := range m.notifs {
		s.Notifications = append(s.Notifications, n.clone())
	}
	for _, r := range m.recs {
		s.Records = append(s.Records, r)
	}
	return s, nil
}

// Commit implements Store.
func (m *MemoryStore) Commit(_ context.Context, c *Changes) error {
	// Encode first, so that a record that cannot be encoded changes nothing.
	raw := make([]RawRecord, 0, len(c.Records))
	for _, r := range c.Records {
		// Kept as JSON, as SQLite keeps them: a restart decodes fresh copies.
		b, err := json.Marshal(r.Value)
		if err != nil {
			return err
		}
		raw = append(raw, RawRecord{Kind: r.Kind, ID: r.ID, Body: b})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.Meta != nil {
		m.meta = c.Meta
	}
	for _, a := range c.Apps {
		m.apps[a.AppID] = a
	}
	for _, b := range c.Buyers {
		m.buyers[b.UserID] = b
	}
	for _, x := range c.Codes {
		m.codes[x.Code] = x
	}
	for _, code := range c.DeletedCodes {
		delete(m.codes, code)
	}
	for _, t := range c.Trades {
		m.trades[t.TradeNo] = t
	}
	for _, n := range c.Notifications {
		m.notifs[n.NotifyID] = n
	}
	for _, r := range raw {
		m.recs[r.Kind+"\x00"+r.ID] = r
	}
	return nil
}

// Close implements Store.
func (m *MemoryStore) Close() error { return nil }
