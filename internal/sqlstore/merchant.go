package sqlstore

import (
	"context"
	"fmt"

	"github.com/f2fpay/f2fpay"
)

// CreateMerchant inserts m and fills its ID and CreatedAt.
func (c *Core) CreateMerchant(ctx context.Context, m *f2fpay.Merchant) (err error) {
	defer c.Wrap(&err, "create merchant")
	defer c.merchantWrite(&err)
	now := c.Now()
	if err = c.cfg.Autocommit.QueryRow(ctx, c.q.CreateMerchant, m.Name, m.WebhookURL, m.WebhookSecret, c.T(now), m.TerminalsSeeAllOrders).Scan(&m.ID); err != nil {
		return err
	}
	m.CreatedAt, m.UpdatedAt = now, now
	return nil
}

// UpdateMerchant sets the fields upd names in one UPDATE (coalesce keeps the others);
// ENOTFOUND for an unknown id.
func (c *Core) UpdateMerchant(ctx context.Context, id int64, upd f2fpay.MerchantUpdate) (_ *f2fpay.Merchant, err error) {
	defer c.Wrap(&err, "update merchant")
	defer c.merchantWrite(&err)
	var wide any
	if upd.TerminalsSeeAllOrders != nil {
		wide = *upd.TerminalsSeeAllOrders
	}
	return FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.UpdateMerchant,
		OptArg(upd.Name), OptArg(upd.WebhookURL), OptArg(upd.WebhookSecret), c.T(c.Now()), id, wide),
		scanMerchant, "merchant %d not found", id)
}

// FindMerchant returns ENOTFOUND for an unknown id.
func (c *Core) FindMerchant(ctx context.Context, id int64) (_ *f2fpay.Merchant, err error) {
	defer c.Wrap(&err, "find merchant")
	if v, ok := c.cfg.Cache.Merchant(id); ok {
		return v, nil
	}
	gen := c.cfg.Cache.Generation()
	v, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindMerchant, id), scanMerchant, "merchant %d not found", id)
	if err == nil {
		c.cfg.Cache.PutMerchant(gen, v)
	}
	return v, err
}

// ListMerchants returns every merchant, oldest first.
func (c *Core) ListMerchants(ctx context.Context) (_ []*f2fpay.Merchant, err error) {
	defer c.Wrap(&err, "list merchants")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListMerchants)
	return Collect(rows, err, scanMerchant)
}

// CreateApp inserts a; a duplicate APPID is ECONFLICT, an unknown merchant ENOTFOUND.
func (c *Core) CreateApp(ctx context.Context, a *f2fpay.App) (err error) {
	defer c.Wrap(&err, "create app")
	defer c.merchantWrite(&err)
	if a.AppID == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "app: the Alipay APPID is empty")
	}
	now := c.Now()
	err = c.cfg.Autocommit.QueryRow(ctx, c.q.CreateApp,
		a.MerchantID, a.AppID, a.Name, a.Gateway, a.SignType, string(a.KeyMode), a.PrivateKey, a.AlipayPublicKey,
		a.AppCert, a.AlipayCert, a.AlipayRootCert, a.SellerID, a.AppAuthToken, a.SysServiceProviderID,
		c.T(now), a.ISV).Scan(&a.ID)
	if err != nil {
		return c.constraint(err, fmt.Sprintf("an app with APPID %s exists already", a.AppID),
			fmt.Sprintf("app %s: merchant %d not found", a.AppID, a.MerchantID))
	}
	a.CreatedAt, a.UpdatedAt, a.Version = now, now, 1
	return nil
}

// UpdateApp sets the fields upd names and increments the version in one UPDATE
// (compare-and-set on upd.IfVersion); ENOTFOUND for an unknown id, ECONFLICT for a
// version that moved. Either way the cached merchant data is dropped, so a caller
// that retries after ECONFLICT reads the app as stored.
func (c *Core) UpdateApp(ctx context.Context, id int64, upd f2fpay.AppUpdate) (_ *f2fpay.App, err error) {
	defer c.Wrap(&err, "update app")
	defer c.merchantWrite(&err)
	a, err := FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.UpdateApp,
		OptArg(upd.Name), OptArg(upd.Gateway), OptArg(upd.SignType), OptArg(upd.KeyMode), OptArg(upd.PrivateKey),
		OptArg(upd.AlipayPublicKey), OptArg(upd.AppCert), OptArg(upd.AlipayCert), OptArg(upd.AlipayRootCert),
		OptArg(upd.SellerID), OptArg(upd.AppAuthToken), OptArg(upd.SysServiceProviderID), c.T(c.Now()), id,
		upd.IfVersion), scanApp, "app %d not found", id)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND && upd.IfVersion != 0 {
		var v int64
		if c.cfg.Read.QueryRow(ctx, c.q.AppVersion, id).Scan(&v) == nil {
			return nil, f2fpay.AppChanged(id, v, upd.IfVersion)
		}
	}
	return a, err
}

// FindApp returns ENOTFOUND for an unknown id.
func (c *Core) FindApp(ctx context.Context, id int64) (_ *f2fpay.App, err error) {
	defer c.Wrap(&err, "find app")
	if v, ok := c.cfg.Cache.App(id); ok {
		return v, nil
	}
	gen := c.cfg.Cache.Generation()
	v, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindApp, id), scanApp, "app %d not found", id)
	if err == nil {
		c.cfg.Cache.PutApp(gen, v)
	}
	return v, err
}

// FindAppByAppID returns ENOTFOUND for an unknown APPID.
func (c *Core) FindAppByAppID(ctx context.Context, appID string) (_ *f2fpay.App, err error) {
	defer c.Wrap(&err, "find app")
	if v, ok := c.cfg.Cache.AppByAppID(appID); ok {
		return v, nil
	}
	gen := c.cfg.Cache.Generation()
	v, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindAppByAppID, appID), scanApp, "no app with APPID %q", appID)
	if err == nil {
		c.cfg.Cache.PutApp(gen, v)
	}
	return v, err
}

// ListApps returns a merchant's apps, oldest first.
func (c *Core) ListApps(ctx context.Context, merchantID int64) (_ []*f2fpay.App, err error) {
	defer c.Wrap(&err, "list apps")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListApps, merchantID)
	return Collect(rows, err, scanApp)
}

// CreateStore inserts s; a store code used twice within a merchant is ECONFLICT.
func (c *Core) CreateStore(ctx context.Context, s *f2fpay.Store) (err error) {
	defer c.Wrap(&err, "create store")
	defer c.merchantWrite(&err)
	now := c.Now()
	err = c.cfg.Autocommit.QueryRow(ctx, c.q.CreateStore, s.MerchantID, s.Code, s.Name, c.T(now)).Scan(&s.ID)
	if err != nil {
		return c.constraint(err, fmt.Sprintf("merchant %d has a store with code %q already", s.MerchantID, s.Code),
			fmt.Sprintf("store %q: merchant %d not found", s.Code, s.MerchantID))
	}
	s.CreatedAt = now
	return nil
}

// FindStore returns ENOTFOUND for an unknown id.
func (c *Core) FindStore(ctx context.Context, id int64) (_ *f2fpay.Store, err error) {
	defer c.Wrap(&err, "find store")
	if v, ok := c.cfg.Cache.Store(id); ok {
		return v, nil
	}
	gen := c.cfg.Cache.Generation()
	v, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindStore, id), scanStore, "store %d not found", id)
	if err == nil {
		c.cfg.Cache.PutStore(gen, v)
	}
	return v, err
}

// ListStores returns a merchant's stores, oldest first.
func (c *Core) ListStores(ctx context.Context, merchantID int64) (_ []*f2fpay.Store, err error) {
	defer c.Wrap(&err, "list stores")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListStores, merchantID)
	return Collect(rows, err, scanStore)
}

// CreateTerminal inserts t. A terminal code used twice within a merchant, or a key id
// used twice anywhere, is ECONFLICT; an unknown merchant, store or app ENOTFOUND.
func (c *Core) CreateTerminal(ctx context.Context, t *f2fpay.Terminal) (err error) {
	defer c.Wrap(&err, "create terminal")
	defer c.merchantWrite(&err)
	now := c.Now()
	var keyID, keyHash any
	if t.KeyID != "" {
		keyID = t.KeyID
	}
	if t.KeyHash != nil {
		keyHash = t.KeyHash
	}
	err = c.cfg.Autocommit.QueryRow(ctx, c.q.CreateTerminal,
		t.MerchantID, IDArg(t.StoreID), IDArg(t.AppID), t.Code, string(t.Kind), t.Name, keyID, keyHash,
		t.SigningSecret, t.Disabled, t.SignedOnly, c.T(now)).Scan(&t.ID)
	if err != nil {
		return c.constraint(err,
			fmt.Sprintf("terminal %q: merchant %d has a terminal with that code already, or key id %q is taken", t.Code, t.MerchantID, t.KeyID),
			fmt.Sprintf("terminal %q: merchant %d, store %d or app %d not found", t.Code, t.MerchantID, t.StoreID, t.AppID))
	}
	t.CreatedAt = now
	return nil
}

// FindTerminal returns ENOTFOUND for an unknown id.
func (c *Core) FindTerminal(ctx context.Context, id int64) (_ *f2fpay.Terminal, err error) {
	defer c.Wrap(&err, "find terminal")
	return c.findTerminal(ctx, c.q.FindTerminal, id, "terminal %d not found", true)
}

// FindTerminalByKeyID returns ENOTFOUND for an unknown (or empty) key id. It reads
// the database unless the store's cache can never be stale (Config.CacheKeyIDs).
func (c *Core) FindTerminalByKeyID(ctx context.Context, keyID string) (_ *f2fpay.Terminal, err error) {
	defer c.Wrap(&err, "find terminal")
	return c.findTerminal(ctx, c.q.FindTerminalByKeyID, keyID, "no terminal has key id %q", c.cfg.CacheKeyIDs)
}

// findTerminal looks a terminal up by id (an int64) or key id (a string), in the
// cache first when useCache.
func (c *Core) findTerminal(ctx context.Context, query string, key any, notFound string, useCache bool) (*f2fpay.Terminal, error) {
	if useCache {
		var v *f2fpay.Terminal
		var ok bool
		switch k := key.(type) {
		case int64:
			v, ok = c.cfg.Cache.Terminal(k)
		case string:
			v, ok = c.cfg.Cache.TerminalByKeyID(k)
		}
		if ok {
			return v, nil
		}
	}
	gen := c.cfg.Cache.Generation()
	v, err := FindOne(c.cfg.Read.QueryRow(ctx, query, key), scanTerminal, notFound, key)
	if err == nil && useCache {
		c.cfg.Cache.PutTerminal(gen, v)
	}
	return v, err
}

// ListTerminals returns a merchant's terminals, oldest first.
func (c *Core) ListTerminals(ctx context.Context, merchantID int64) (_ []*f2fpay.Terminal, err error) {
	defer c.Wrap(&err, "list terminals")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListTerminals, merchantID)
	return Collect(rows, err, scanTerminal)
}

// SetTerminalDisabled returns ENOTFOUND for an unknown id.
func (c *Core) SetTerminalDisabled(ctx context.Context, id int64, disabled bool) (err error) {
	defer c.Wrap(&err, "set terminal disabled")
	return c.setTerminalFlag(ctx, c.q.SetTerminalDisabled, id, disabled)
}

// SetTerminalSignedOnly returns ENOTFOUND for an unknown id.
func (c *Core) SetTerminalSignedOnly(ctx context.Context, id int64, signedOnly bool) (err error) {
	defer c.Wrap(&err, "set terminal signed only")
	return c.setTerminalFlag(ctx, c.q.SetTerminalSignedOnly, id, signedOnly)
}

// setTerminalFlag runs update ($1 the value, $2 the terminal's id).
func (c *Core) setTerminalFlag(ctx context.Context, update string, id int64, v bool) (err error) {
	defer c.merchantWrite(&err)
	n, err := c.cfg.Autocommit.Exec(ctx, update, v, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "terminal %d not found", id)
	}
	return nil
}

// RotateTerminalKey replaces the key in one UPDATE; ENOTFOUND for an unknown id,
// ECONFLICT for a key id in use.
func (c *Core) RotateTerminalKey(ctx context.Context, id int64, key f2fpay.TerminalKey) (_ *f2fpay.Terminal, err error) {
	defer c.Wrap(&err, "rotate terminal key")
	defer c.merchantWrite(&err)
	if key.KeyID == "" || len(key.KeyHash) == 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "terminal %d: a new key needs a key id and a hash", id)
	}
	t, err := FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.RotateTerminalKey, key.KeyID, key.KeyHash, key.SigningSecret, id),
		scanTerminal, "terminal %d not found", id)
	if err != nil {
		return nil, c.constraint(err, fmt.Sprintf("terminal %d: key id %q is taken", id, key.KeyID), "")
	}
	return t, nil
}
