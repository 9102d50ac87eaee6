package alipaysim

import (
	"time"
)

// txn is one transaction over the engine's state: reads see the transaction's own
// writes, writes go to copies that are committed together.
type txn struct {
	e    *engine
	now  time.Time
	ids  idgen
	meta *Meta

	apps   map[string]*App
	buyers map[string]*Buyer
	codes  map[string]*Code
	trades map[string]*Trade
	// dropCodes are codes to delete (purgeCodes).
	dropCodes []string
	notifs    map[string]*Notification
	order     []string // trades and notifications in write order, for a stable commit

	recs     map[string]record // kind + "\x00" + id → written generic record (records.go)
	recOrder []string

	popped   []deadline
	attempts []dueAttempt
}

type dueAttempt struct {
	n  *Notification
	at time.Time
}

func (t *txn) changes() *Changes {
	c := &Changes{}
	if t.meta.Seq != t.e.meta.Seq || t.meta.AlipayKey != t.e.meta.AlipayKey {
		c.Meta = t.meta
	}
	for _, a := range t.apps {
		c.Apps = append(c.Apps, a)
	}
	for _, b := range t.buyers {
		c.Buyers = append(c.Buyers, b)
	}
	for _, x := range t.codes {
		c.Codes = append(c.Codes, x)
	}
	c.DeletedCodes = t.dropCodes
	for _, k := range t.order {
		if tr, ok := t.trades[k]; ok {
			c.Trades = append(c.Trades, tr)
		} else if n, ok := t.notifs[k]; ok {
			c.Notifications = append(c.Notifications, n)
		}
	}
	c.Records = t.recChanges()
	return c
}

func (t *txn) app(id string) *App {
	if a, ok := t.apps[id]; ok {
		return a
	}
	return t.e.apps[id]
}

// appW returns a writable copy of the app, nil if unknown.
func (t *txn) appW(id string) *App {
	if a, ok := t.apps[id]; ok {
		return a
	}
	a := t.e.apps[id]
	if a == nil {
		return nil
	}
	a = a.clone()
	t.putApp(a)
	return a
}

func (t *txn) putApp(a *App) {
	if t.apps == nil {
		t.apps = map[string]*App{}
	}
	t.apps[a.AppID] = a
}

func (t *txn) buyer(id string) *Buyer {
	if b, ok := t.buyers[id]; ok {
		return b
	}
	return t.e.buyers[id]
}

func (t *txn) buyerW(id string) *Buyer {
	if b, ok := t.buyers[id]; ok {
		return b
	}
	b := t.e.buyers[id]
	if b == nil {
		return nil
	}
	b = b.clone()
	t.putBuyer(b)
	return b
}

func (t *txn) putBuyer(b *Buyer) {
	if t.buyers == nil {
		t.buyers = map[string]*Buyer{}
	}
	t.buyers[b.UserID] = b
}

// buyerByAny finds a buyer by user id, open id or logon id.
func (t *txn) buyerByAny(id string) *Buyer {
	if b := t.buyer(id); b != nil {
		return b
	}
	if uid, ok := t.e.byOpenID[id]; ok {
		return t.buyer(uid)
	}
	if uid, ok := t.e.byLogon[id]; ok {
		return t.buyer(uid)
	}
	for _, b := range t.buyers {
		if b.OpenID == id || b.LogonID == id {
			return b
		}
	}
	return nil
}

func (t *txn) code(c string) *Code {
	if x, ok := t.codes[c]; ok {
		return x
	}
	return t.e.codes[c]
}

func (t *txn) putCode(c *Code) {
	if t.codes == nil {
		t.codes = map[string]*Code{}
	}
	t.codes[c.Code] = c
}

func (t *txn) trade(no string) *Trade {
	if tr, ok := t.trades[no]; ok {
		return tr
	}
	return t.e.trades[no]
}

func (t *txn) tradeW(no string) *Trade {
	if tr, ok := t.trades[no]; ok {
		return tr
	}
	tr := t.e.trades[no]
	if tr == nil {
		return nil
	}
	tr = tr.clone()
	t.putTrade(tr)
	return tr
}

func (t *txn) putTrade(tr *Trade) {
	if t.trades == nil {
		t.trades = map[string]*Trade{}
	}
	if _, ok := t.trades[tr.TradeNo]; !ok {
		t.order = append(t.order, tr.TradeNo)
	}
	t.trades[tr.TradeNo] = tr
}

// tradeByOut finds an app's trade by out_trade_no, including invisible ones.
func (t *txn) tradeByOut(appID, out string) *Trade {
	for _, tr := range t.trades {
		if tr.AppID == appID && tr.OutTradeNo == out {
			return tr
		}
	}
	if no, ok := t.e.byOut[appID+"\x00"+out]; ok {
		return t.trade(no)
	}
	return nil
}

func (t *txn) notif(id string) *Notification {
	if n, ok := t.notifs[id]; ok {
		return n
	}
	return t.e.notifs[id]
}

func (t *txn) notifW(id string) *Notification {
	if n, ok := t.notifs[id]; ok {
		return n
	}
	n := t.e.notifs[id]
	if n == nil {
		return nil
	}
	n = n.clone()
	t.putNotif(n)
	return n
}

func (t *txn) putNotif(n *Notification) {
	if t.notifs == nil {
		t.notifs = map[string]*Notification{}
	}
	if _, ok := t.notifs[n.NotifyID]; !ok {
		t.order = append(t.order, n.NotifyID)
	}
	t.notifs[n.NotifyID] = n
}
