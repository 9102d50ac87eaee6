package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

// acceptanceAppConfig reads an app configured in the service's database (-db, the
// master key, -app APPID): its gateway, sign type and keys, opened with the master key
// as the service opens them, so acceptance checks exactly what the service will use.
func acceptanceAppConfig(ctx context.Context, db, masterKey, masterKeyFile, appID string) (alipay.Config, error) {
	var cfg alipay.Config
	sc := serveConfig{MasterKey: masterKey, MasterKeyFile: masterKeyFile}
	if sc.MasterKey == "" && sc.MasterKeyFile == "" {
		return cfg, &usageError{"acceptance: -db needs the service's master key: set F2FPAY_MASTER_KEY, or -master-key-file"}
	}
	master, err := sc.masterKey()
	if err != nil {
		return cfg, fmt.Errorf("acceptance: %s", strings.TrimPrefix(err.Error(), "serve: "))
	}
	box, err := secret.NewBox(master)
	if err != nil {
		return cfg, fmt.Errorf("acceptance: %w", err)
	}
	store, _, err := openDB(ctx, db, "", false)
	if err != nil {
		return cfg, fmt.Errorf("acceptance: database %s: %w", redactDB(db), err)
	}
	defer store.Close()
	app, err := store.FindAppByAppID(ctx, appID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return cfg, fmt.Errorf("acceptance: no app %s in the database %s (f2fpay provision registers one)", appID, redactDB(db))
	}
	if err != nil {
		return cfg, fmt.Errorf("acceptance: %w", err)
	}
	key, err := box.Open(app.PrivateKey, payment.PrivateKeyPurpose(app.AppID))
	if err != nil {
		return cfg, fmt.Errorf("acceptance: app %s: its private key cannot be opened with this master key (is it the service's?): %v", app.AppID, err)
	}
	cfg = alipay.Config{AppID: app.AppID, PrivateKey: key, Gateway: app.Gateway, SignType: alipay.SignType(app.SignType), DisableCertDownload: true}
	if app.KeyMode == f2fpay.KeyModeCert {
		cfg.AppCert, cfg.AlipayCert, cfg.AlipayRootCert = []byte(app.AppCert), []byte(app.AlipayCert), []byte(app.AlipayRootCert)
	} else {
		cfg.AlipayPublicKey = app.AlipayPublicKey
	}
	return cfg, nil
}
