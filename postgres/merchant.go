package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
)

// collect scans every row of a query; err is the query's own error.
func collect[T any](rows pgx.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// findOne scans the single row of a query, ENOTFOUND (with what as the message)
// when there is none.
func findOne[T any](row pgx.Row, scan func(scanner) (T, error), what string, args ...any) (T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, f2fpay.Errorf(f2fpay.ENOTFOUND, what, args...)
	}
	return v, err
}

// CreateMerchant inserts m and fills its ID and CreatedAt.
func (db *DB) CreateMerchant(ctx context.Context, m *f2fpay.Merchant) (err error) {
	defer wrap(&err, "create merchant")
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	now := db.now()
	err = db.pool.QueryRow(ctx, `INSERT INTO merchants (name, webhook_url, webhook_secret, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4) RETURNING id`, m.Name, m.WebhookURL, m.WebhookSecret, now).Scan(&m.ID)
	if err != nil {
		return err
	}
	m.CreatedAt, m.UpdatedAt = now, now
	return nil
}

const merchantCols = `id, name, webhook_url, webhook_secret, created_at, updated_at`

func scanMerchant(s scanner) (*f2fpay.Merchant, error) {
	m := new(f2fpay.Merchant)
	err := s.Scan(&m.ID, &m.Name, &m.WebhookURL, &m.WebhookSecret, nullTime{&m.CreatedAt}, nullTime{&m.UpdatedAt})
	return m, err
}

// UpdateMerchant sets the fields upd names in one UPDATE (coalesce keeps the others);
// ENOTFOUND for an unknown id.
func (db *DB) UpdateMerchant(ctx context.Context, id int64, upd f2fpay.MerchantUpdate) (_ *f2fpay.Merchant, err error) {
	defer wrap(&err, "update merchant")
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	return findOne(db.pool.QueryRow(ctx, `UPDATE merchants SET name = coalesce($1, name),
	webhook_url = coalesce($2, webhook_url), webhook_secret = coalesce($3, webhook_secret), updated_at = $4
WHERE id = $5 RETURNING `+merchantCols,
		optArg(upd.Name), optArg(upd.WebhookURL), optArg(upd.WebhookSecret), db.now(), id),
		scanMerchant, "merchant %d not found", id)
}

// optArg is an update's optional value as a query argument: NULL (coalesce keeps the
// stored value) when it is not given.
func optArg[T ~string](p *T) *string {
	if p == nil {
		return nil
	}
	v := string(*p)
	return &v
}

// FindMerchant returns ENOTFOUND for an unknown id.
func (db *DB) FindMerchant(ctx context.Context, id int64) (_ *f2fpay.Merchant, err error) {
	defer wrap(&err, "find merchant")
	if v, ok := db.cache.Merchant(id); ok {
		return v, nil
	}
	gen := db.cache.Generation()
	v, err := findOne(db.pool.QueryRow(ctx, `SELECT `+merchantCols+` FROM merchants WHERE id = $1`, id),
		scanMerchant, "merchant %d not found", id)
	if err == nil {
		db.cache.PutMerchant(gen, v)
	}
	return v, err
}

// ListMerchants returns every merchant, oldest first.
func (db *DB) ListMerchants(ctx context.Context) (_ []*f2fpay.Merchant, err error) {
	defer wrap(&err, "list merchants")
	rows, err := db.pool.Query(ctx, `SELECT `+merchantCols+` FROM merchants ORDER BY id`)
	return collect(rows, err, scanMerchant)
}

const appCols = `id, merchant_id, app_id, name, gateway, sign_type, key_mode, private_key, alipay_public_key,
	app_cert, alipay_cert, alipay_root_cert, seller_id, app_auth_token, sys_service_provider_id, created_at,
	updated_at, version`

func scanApp(s scanner) (*f2fpay.App, error) {
	a := new(f2fpay.App)
	err := s.Scan(&a.ID, &a.MerchantID, &a.AppID, &a.Name, &a.Gateway, &a.SignType, (*string)(&a.KeyMode),
		&a.PrivateKey, &a.AlipayPublicKey, &a.AppCert, &a.AlipayCert, &a.AlipayRootCert, &a.SellerID,
		&a.AppAuthToken, &a.SysServiceProviderID, nullTime{&a.CreatedAt}, nullTime{&a.UpdatedAt}, &a.Version)
	return a, err
}

// CreateApp inserts a; a duplicate APPID is ECONFLICT, an unknown merchant ENOTFOUND.
func (db *DB) CreateApp(ctx context.Context, a *f2fpay.App) (err error) {
	defer wrap(&err, "create app")
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	if a.AppID == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "app: the Alipay APPID is empty")
	}
	now := db.now()
	err = db.pool.QueryRow(ctx, `INSERT INTO apps (merchant_id, app_id, name, gateway, sign_type, key_mode,
	private_key, alipay_public_key, app_cert, alipay_cert, alipay_root_cert, seller_id, app_auth_token,
	sys_service_provider_id, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, 1) RETURNING id`,
		a.MerchantID, a.AppID, a.Name, a.Gateway, a.SignType, string(a.KeyMode), a.PrivateKey, a.AlipayPublicKey,
		a.AppCert, a.AlipayCert, a.AlipayRootCert, a.SellerID, a.AppAuthToken, a.SysServiceProviderID,
		now).Scan(&a.ID)
	if err != nil {
		return constraint(err, fmt.Sprintf("an app with APPID %s exists already", a.AppID),
			fmt.Sprintf("app %s: merchant %d not found", a.AppID, a.MerchantID))
	}
	a.CreatedAt, a.UpdatedAt, a.Version = now, now, 1
	return nil
}

// UpdateApp sets the fields upd names and increments the version in one UPDATE
// (compare-and-set on upd.IfVersion); ENOTFOUND for an unknown id, ECONFLICT for a
// version that moved. Either way this instance's cached merchant data is dropped, so
// a caller that retries after ECONFLICT reads the app as stored.
func (db *DB) UpdateApp(ctx context.Context, id int64, upd f2fpay.AppUpdate) (_ *f2fpay.App, err error) {
	defer wrap(&err, "update app")
	defer db.cache.Invalidate() // after the write, or a failed compare-and-set (internal/merchcache)
	a, err := findOne(db.pool.QueryRow(ctx, `UPDATE apps SET name = coalesce($1, name),
	gateway = coalesce($2, gateway), sign_type = coalesce($3, sign_type), key_mode = coalesce($4, key_mode),
	private_key = coalesce($5, private_key), alipay_public_key = coalesce($6, alipay_public_key),
	app_cert = coalesce($7, app_cert), alipay_cert = coalesce($8, alipay_cert),
	alipay_root_cert = coalesce($9, alipay_root_cert), seller_id = coalesce($10, seller_id),
	app_auth_token = coalesce($11, app_auth_token), sys_service_provider_id = coalesce($12, sys_service_provider_id),
	updated_at = $13, version = version + 1
WHERE id = $14 AND ($15 = 0 OR version = $15) RETURNING `+appCols,
		optArg(upd.Name), optArg(upd.Gateway), optArg(upd.SignType), optArg(upd.KeyMode), optArg(upd.PrivateKey),
		optArg(upd.AlipayPublicKey), optArg(upd.AppCert), optArg(upd.AlipayCert), optArg(upd.AlipayRootCert),
		optArg(upd.SellerID), optArg(upd.AppAuthToken), optArg(upd.SysServiceProviderID), db.now(), id,
		upd.IfVersion), scanApp, "app %d not found", id)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND && upd.IfVersion != 0 {
		var v int64
		if db.pool.QueryRow(ctx, `SELECT version FROM apps WHERE id = $1`, id).Scan(&v) == nil {
			return nil, f2fpay.AppChanged(id, v, upd.IfVersion)
		}
	}
	return a, err
}

// FindApp returns ENOTFOUND for an unknown id.
func (db *DB) FindApp(ctx context.Context, id int64) (_ *f2fpay.App, err error) {
	defer wrap(&err, "find app")
	if v, ok := db.cache.App(id); ok {
		return v, nil
	}
	gen := db.cache.Generation()
	v, err := findOne(db.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1`, id),
		scanApp, "app %d not found", id)
	if err == nil {
		db.cache.PutApp(gen, v)
	}
	return v, err
}

// FindAppByAppID returns ENOTFOUND for an unknown APPID.
func (db *DB) FindAppByAppID(ctx context.Context, appID string) (_ *f2fpay.App, err error) {
	defer wrap(&err, "find app")
	if v, ok := db.cache.AppByAppID(appID); ok {
		return v, nil
	}
	gen := db.cache.Generation()
	v, err := findOne(db.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE app_id = $1`, appID),
		scanApp, "no app with APPID %q", appID)
	if err == nil {
		db.cache.PutApp(gen, v)
	}
	return v, err
}

// ListApps returns a merchant's apps, oldest first.
func (db *DB) ListApps(ctx context.Context, merchantID int64) (_ []*f2fpay.App, err error) {
	defer wrap(&err, "list apps")
	rows, err := db.pool.Query(ctx, `SELECT `+appCols+` FROM apps WHERE merchant_id = $1 ORDER BY id`, merchantID)
	return collect(rows, err, scanApp)
}

const storeCols = `id, merchant_id, code, name, created_at`

func scanStore(s scanner) (*f2fpay.Store, error) {
	st := new(f2fpay.Store)
	err := s.Scan(&st.ID, &st.MerchantID, &st.Code, &st.Name, nullTime{&st.CreatedAt})
	return st, err
}

// CreateStore inserts s; a store code used twice within a merchant is ECONFLICT.
func (db *DB) CreateStore(ctx context.Context, s *f2fpay.Store) (err error) {
	defer wrap(&err, "create store")
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	now := db.now()
	err = db.pool.QueryRow(ctx, `INSERT INTO stores (merchant_id, code, name, created_at)
VALUES ($1, $2, $3, $4) RETURNING id`, s.MerchantID, s.Code, s.Name, now).Scan(&s.ID)
	if err != nil {
		return constraint(err, fmt.Sprintf("merchant %d has a store with code %q already", s.MerchantID, s.Code),
			fmt.Sprintf("store %q: merchant %d not found", s.Code, s.MerchantID))
	}
	s.CreatedAt = now
	return nil
}

// FindStore returns ENOTFOUND for an unknown id.
func (db *DB) FindStore(ctx context.Context, id int64) (_ *f2fpay.Store, err error) {
	defer wrap(&err, "find store")
	if v, ok := db.cache.Store(id); ok {
		return v, nil
	}
	gen := db.cache.Generation()
	v, err := findOne(db.pool.QueryRow(ctx, `SELECT `+storeCols+` FROM stores WHERE id = $1`, id),
		scanStore, "store %d not found", id)
	if err == nil {
		db.cache.PutStore(gen, v)
	}
	return v, err
}

// ListStores returns a merchant's stores, oldest first.
func (db *DB) ListStores(ctx context.Context, merchantID int64) (_ []*f2fpay.Store, err error) {
	defer wrap(&err, "list stores")
	rows, err := db.pool.Query(ctx, `SELECT `+storeCols+` FROM stores WHERE merchant_id = $1 ORDER BY id`, merchantID)
	return collect(rows, err, scanStore)
}

const terminalCols = `id, merchant_id, store_id, app_id, code, kind, name, coalesce(key_id, ''), key_hash, signing_secret,
	disabled, signed_only, created_at`

func scanTerminal(s scanner) (*f2fpay.Terminal, error) {
	t := new(f2fpay.Terminal)
	err := s.Scan(&t.ID, &t.MerchantID, nullID{&t.StoreID}, nullID{&t.AppID}, &t.Code, (*string)(&t.Kind), &t.Name,
		&t.KeyID, &t.KeyHash, &t.SigningSecret, &t.Disabled, &t.SignedOnly, nullTime{&t.CreatedAt})
	return t, err
}

// CreateTerminal inserts t. A terminal code used twice within a merchant, or a key id
// used twice anywhere, is ECONFLICT; an unknown merchant, store or app ENOTFOUND.
func (db *DB) CreateTerminal(ctx context.Context, t *f2fpay.Terminal) (err error) {
	defer wrap(&err, "create terminal")
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	now := db.now()
	var keyID, keyHash any
	if t.KeyID != "" {
		keyID = t.KeyID
	}
	if t.KeyHash != nil {
		keyHash = t.KeyHash
	}
	err = db.pool.QueryRow(ctx, `INSERT INTO terminals (merchant_id, store_id, app_id, code, kind, name,
	key_id, key_hash, signing_secret, disabled, signed_only, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		t.MerchantID, idArg(t.StoreID), idArg(t.AppID), t.Code, string(t.Kind), t.Name, keyID, keyHash,
		t.SigningSecret, t.Disabled, t.SignedOnly, now).Scan(&t.ID)
	if err != nil {
		return constraint(err,
			fmt.Sprintf("terminal %q: merchant %d has a terminal with that code already, or key id %q is taken", t.Code, t.MerchantID, t.KeyID),
			fmt.Sprintf("terminal %q: merchant %d, store %d or app %d not found", t.Code, t.MerchantID, t.StoreID, t.AppID))
	}
	t.CreatedAt = now
	return nil
}

// FindTerminal returns ENOTFOUND for an unknown id.
func (db *DB) FindTerminal(ctx context.Context, id int64) (_ *f2fpay.Terminal, err error) {
	defer wrap(&err, "find terminal")
	if v, ok := db.cache.Terminal(id); ok {
		return v, nil
	}
	gen := db.cache.Generation()
	v, err := findOne(db.pool.QueryRow(ctx, `SELECT `+terminalCols+` FROM terminals WHERE id = $1`, id),
		scanTerminal, "terminal %d not found", id)
	if err == nil {
		db.cache.PutTerminal(gen, v)
	}
	return v, err
}

// FindTerminalByKeyID returns ENOTFOUND for an unknown (or empty) key id.
func (db *DB) FindTerminalByKeyID(ctx context.Context, keyID string) (_ *f2fpay.Terminal, err error) {
	defer wrap(&err, "find terminal")
	return findOne(db.pool.QueryRow(ctx, `SELECT `+terminalCols+` FROM terminals WHERE key_id = $1`, keyID),
		scanTerminal, "no terminal has key id %q", keyID)
}

// ListTerminals returns a merchant's terminals, oldest first.
func (db *DB) ListTerminals(ctx context.Context, merchantID int64) (_ []*f2fpay.Terminal, err error) {
	defer wrap(&err, "list terminals")
	rows, err := db.pool.Query(ctx, `SELECT `+terminalCols+` FROM terminals WHERE merchant_id = $1 ORDER BY id`, merchantID)
	return collect(rows, err, scanTerminal)
}

// SetTerminalDisabled returns ENOTFOUND for an unknown id.
func (db *DB) SetTerminalDisabled(ctx context.Context, id int64, disabled bool) (err error) {
	defer wrap(&err, "set terminal disabled")
	return db.setTerminalFlag(ctx, `UPDATE terminals SET disabled = $1 WHERE id = $2`, id, disabled)
}

// SetTerminalSignedOnly returns ENOTFOUND for an unknown id.
func (db *DB) SetTerminalSignedOnly(ctx context.Context, id int64, signedOnly bool) (err error) {
	defer wrap(&err, "set terminal signed only")
	return db.setTerminalFlag(ctx, `UPDATE terminals SET signed_only = $1 WHERE id = $2`, id, signedOnly)
}

// setTerminalFlag runs update ($1 the value, $2 the terminal's id).
func (db *DB) setTerminalFlag(ctx context.Context, update string, id int64, v bool) error {
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	res, err := db.pool.Exec(ctx, update, v, id)
	if err != nil {
		return err
	}
	if res.RowsAffected() == 0 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "terminal %d not found", id)
	}
	return nil
}

// RotateTerminalKey replaces the key in one UPDATE; ENOTFOUND for an unknown id,
// ECONFLICT for a key id in use.
func (db *DB) RotateTerminalKey(ctx context.Context, id int64, key f2fpay.TerminalKey) (_ *f2fpay.Terminal, err error) {
	defer wrap(&err, "rotate terminal key")
	defer db.cache.Invalidate() // after the write (internal/merchcache)
	if key.KeyID == "" || len(key.KeyHash) == 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "terminal %d: a new key needs a key id and a hash", id)
	}
	t, err := findOne(db.pool.QueryRow(ctx, `UPDATE terminals SET key_id = $1, key_hash = $2, signing_secret = $3
WHERE id = $4 RETURNING `+terminalCols, key.KeyID, key.KeyHash, key.SigningSecret, id),
		scanTerminal, "terminal %d not found", id)
	if err != nil {
		return nil, constraint(err, fmt.Sprintf("terminal %d: key id %q is taken", id, key.KeyID), "")
	}
	return t, nil
}
