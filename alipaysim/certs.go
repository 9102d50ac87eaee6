package alipaysim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Certificate mode (公钥证书模式, docs/alipay-protocol.md §4). The sandbox runs its own small PKI,
// shaped like Alipay's:
//
//   - alipayRootCert.crt is a bundle of two roots: an ECDSA one first, then the RSA
//     "f2fpay Sandbox Root CA". Alipay's real bundle also mixes algorithms (an SM2 and
//     an ECDSA root beside two RSA ones), and alipay_root_cert_sn covers only the RSA
//     family — so a client that forgets to filter computes a different SN and is refused.
//   - An intermediate, "f2fpay Sandbox Class 2 CA", issues the "Alipay" public-key
//     certificate and the app certificates, as Ant's Class 1/Class 2 R1 CAs do.
//     alipayCertPublicKey_RSA2.crt holds the leaf followed by that intermediate.
//   - The first Alipay leaf carries the sandbox's own Alipay key (Sim.AlipayPublicKey),
//     so public-key and certificate apps verify with the same key until a rotation.
//     POST /sandbox/alipay-cert/rotate issues a leaf with a fresh key; certificate apps
//     are answered with it from then on, and clients fetch it by serial through
//     alipay.open.app.alipaycert.download. Public-key apps keep the original key: on
//     Alipay, rotating the certificate never changes a key-mode app's 支付宝公钥.
//
// Validity is in wall-clock time (one day back, five years ahead), not on the sandbox
// clock: clients check certificate dates against their own clock.
//
// The PKI is persisted as records (certs_store.go): a sandbox restarted on the same
// --data directory rebuilds it from the store, so certificate apps keep their serials and
// clients keep the files they were given. It is created on first use, so sandboxes that
// never see a certificate app pay nothing for it.
type certAuthority struct {
	// writeMu serialises the writers (first build, app certificates, rotation). Each
	// writer commits its records to the store before installing them under mu, so the
	// gateway's readers never wait on the store.
	writeMu sync.Mutex
	stored  *certAuthorityRecord // the CA as last committed; nil until built or loaded

	mu        sync.RWMutex
	interKey  *rsa.PrivateKey
	inter     *x509.Certificate
	interPEM  []byte
	bundlePEM []byte
	rootSN    string
	current   *alipayLeaf
	leaves    map[string]*alipayLeaf // by SN, rotated-out ones included (downloads of old serials still work)
	apps      map[string]*appCert    // by app_id: the apps in certificate mode
}

// alipayLeaf is one "Alipay public-key certificate" and the key it certifies.
type alipayLeaf struct {
	sn     string
	pem    []byte // leaf, then the issuing intermediate
	signer *alipay.KeySigner
}

// appCert is the certificate issued to an app in certificate mode.
type appCert struct {
	sn  string
	pem []byte
}

// Certificate-mode sub_codes, from Alipay's public error list (opendocs common/02kdnf):
// isv.missing-app-cert-sn, isv.missing-alipay-root-cert-sn, isv.invalid-alipay-root-cert-sn,
// isv.app-cert-not-exist, isv.alipay-cert-not-exist.
const (
	subMissingAppCertSN  = "isv.missing-app-cert-sn"
	subMissingRootCertSN = "isv.missing-alipay-root-cert-sn"
	subInvalidRootCertSN = "isv.invalid-alipay-root-cert-sn"
	subAppCertNotExist   = "isv.app-cert-not-exist"
	subAlipayCertMissing = "isv.alipay-cert-not-exist"
	certDownloadMethod   = "alipay.open.app.alipaycert.download"
)

var (
	sandboxRootName  = pkix.Name{Country: []string{"CN"}, Organization: []string{"f2fpay sandbox"}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: "f2fpay Sandbox Root CA"}
	sandboxECName    = pkix.Name{Country: []string{"CN"}, Organization: []string{"f2fpay sandbox"}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: "f2fpay Sandbox Root CA E1"}
	sandboxInterName = pkix.Name{Country: []string{"CN"}, Organization: []string{"f2fpay sandbox"}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: "f2fpay Sandbox Class 2 CA"}
)

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// init builds the PKI around the sandbox's Alipay key and commits it, unless it was
// built or loaded before. The caller holds writeMu.
func (ca *certAuthority) initLocked(ctx context.Context, e *engine, alipayKey *rsa.PrivateKey) error {
	if ca.stored != nil {
		return nil
	}
	rec, leaf, err := buildCA(alipayKey)
	if err != nil {
		return err
	}
	if err := e.update(ctx, func(t *txn) error { t.putRec(rec); t.putRec(leaf); return nil }); err != nil {
		return err
	}
	return ca.install(rec, []*alipayCertRecord{leaf}, nil)
}

// buildCA makes a new PKI: the two roots, the intermediate and the first Alipay leaf,
// which certifies alipayKey.
func buildCA(alipayKey *rsa.PrivateKey) (*certAuthorityRecord, *alipayCertRecord, error) {
	now := time.Now()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: sandboxRootName,
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, err
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, nil, err
	}

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ecTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: sandboxECName,
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		SignatureAlgorithm: x509.ECDSAWithSHA256,
	}
	ecDER, err := x509.CreateCertificate(rand.Reader, ecTmpl, ecTmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		return nil, nil, err
	}

	interKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	interTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: sandboxInterName,
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SignatureAlgorithm: x509.SHA256WithRSA,
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, err
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, nil, err
	}

	rec := &certAuthorityRecord{
		ID: certAuthorityID, RootCert: string(pemCert(rootDER)), ECRootCert: string(pemCert(ecDER)),
		InterCert: string(pemCert(interDER)), LastSerial: now.UnixNano(),
	}
	if rec.RootKey, err = encodeKey(rootKey); err != nil {
		return nil, nil, err
	}
	if rec.ECRootKey, err = encodeKey(ecKey); err != nil {
		return nil, nil, err
	}
	if rec.InterKey, err = encodeKey(interKey); err != nil {
		return nil, nil, err
	}
	leaf, err := newAlipayLeaf(rec, inter, interKey, alipayKey)
	if err != nil {
		return nil, nil, err
	}
	return rec, leaf, nil
}

// issue signs a certificate for pub with the intermediate, under serial.
func issue(inter *x509.Certificate, interKey *rsa.PrivateKey, serial int64, subject pkix.Name, pub *rsa.PublicKey) (*x509.Certificate, []byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: subject,
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter, pub, interKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, der, err
}

// newAlipayLeaf issues an Alipay public-key certificate for key under the next serial
// of rec (which it advances) and makes it rec's current one.
func newAlipayLeaf(rec *certAuthorityRecord, inter *x509.Certificate, interKey, key *rsa.PrivateKey) (*alipayCertRecord, error) {
	subject := pkix.Name{Country: []string{"CN"}, Organization: []string{"f2fpay sandbox"},
		OrganizationalUnit: []string{"Alipay Open Platform"}, CommonName: "Alipay sandbox public key certificate"}
	rec.LastSerial++
	cert, der, err := issue(inter, interKey, rec.LastSerial, subject, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	k, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	leaf := &alipayCertRecord{SN: alipay.CertSN(cert), Cert: string(pemCert(der)) + rec.InterCert, Key: k}
	rec.CurrentSN = leaf.SN
	return leaf, nil
}

// AppCerts are the three files a certificate-mode app configures, as PEM, with their
// serial numbers.
type AppCerts struct {
	AppCert          string `json:"app_cert"`         // appCertPublicKey_<app_id>.crt
	AlipayCert       string `json:"alipay_cert"`      // alipayCertPublicKey_RSA2.crt: leaf + issuer
	AlipayRootCert   string `json:"alipay_root_cert"` // alipayRootCert.crt: ECDSA root + RSA root
	AppCertSN        string `json:"app_cert_sn"`
	AlipayCertSN     string `json:"alipay_cert_sn"`
	AlipayRootCertSN string `json:"alipay_root_cert_sn"`
}

func (ca *certAuthority) filesLocked(a *appCert) *AppCerts {
	return &AppCerts{
		AppCert: string(a.pem), AlipayCert: string(ca.current.pem), AlipayRootCert: string(ca.bundlePEM),
		AppCertSN: a.sn, AlipayCertSN: ca.current.sn, AlipayRootCertSN: ca.rootSN,
	}
}

// RegisterCertApp registers an app in certificate mode: like RegisterApp, and the
// sandbox CA issues the app certificate for spec.PublicKey. Every request of such an
// app must carry app_cert_sn and alipay_root_cert_sn, and every answer carries
// alipay_cert_sn (REST: header alipay-sn).
func (s *Sim) RegisterCertApp(ctx context.Context, spec AppSpec) (*App, *AppCerts, error) {
	ca := &s.certs
	ca.writeMu.Lock()
	defer ca.writeMu.Unlock()
	if err := ca.initLocked(ctx, s.e, s.key); err != nil {
		return nil, nil, fmt.Errorf("sandbox: building the certificate authority: %w", err)
	}
	app, err := s.RegisterApp(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	pub, err := alipay.ParsePublicKey(app.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	subject := pkix.Name{Country: []string{"CN"}, Organization: []string{"f2fpay sandbox merchant " + app.SellerID},
		OrganizationalUnit: []string{"Alipay.com"}, CommonName: app.AppID}
	rec := *ca.stored
	rec.LastSerial++
	cert, der, err := issue(ca.inter, ca.interKey, rec.LastSerial, subject, pub)
	if err != nil {
		return nil, nil, err
	}
	ar := &appCertRecord{AppID: app.AppID, SN: alipay.CertSN(cert), Cert: string(pemCert(der))}
	// The app was committed on its own: should this commit fail, it stays a public-key app.
	if err := s.e.update(ctx, func(t *txn) error { t.putRec(&rec); t.putRec(ar); return nil }); err != nil {
		return nil, nil, fmt.Errorf("sandbox: storing the certificate of app %s: %w", app.AppID, err)
	}
	a := &appCert{sn: ar.SN, pem: []byte(ar.Cert)}
	ca.stored = &rec
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.apps[app.AppID] = a
	return app, ca.filesLocked(a), nil
}

// AppCertificates returns the certificate files of a certificate-mode app, with the
// current Alipay certificate.
func (s *Sim) AppCertificates(appID string) (*AppCerts, error) {
	ca := &s.certs
	ca.mu.RLock()
	defer ca.mu.RUnlock()
	a := ca.apps[appID]
	if a == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "app %q is not in certificate mode; register it with \"key_mode\": \"cert\"", appID)
	}
	return ca.filesLocked(a), nil
}

// RotateAlipayCert issues a new Alipay public-key certificate with a new key and answers
// certificate-mode apps with it from now on. The old certificate stays downloadable.
func (s *Sim) RotateAlipayCert(ctx context.Context) (sn string, certPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	ca := &s.certs
	ca.writeMu.Lock()
	defer ca.writeMu.Unlock()
	if err := ca.initLocked(ctx, s.e, s.key); err != nil {
		return "", "", fmt.Errorf("sandbox: building the certificate authority: %w", err)
	}
	rec := *ca.stored
	lr, err := newAlipayLeaf(&rec, ca.inter, ca.interKey, key)
	if err != nil {
		return "", "", err
	}
	if err := s.e.update(ctx, func(t *txn) error { t.putRec(&rec); t.putRec(lr); return nil }); err != nil {
		return "", "", fmt.Errorf("sandbox: storing the rotated Alipay certificate: %w", err)
	}
	leaf := &alipayLeaf{sn: lr.SN, pem: []byte(lr.Cert), signer: alipay.NewKeySigner(key)}
	ca.stored = &rec
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.leaves[leaf.sn] = leaf
	ca.current = leaf
	return leaf.sn, string(leaf.pem), nil
}

// certApp reports whether appID is in certificate mode, returning its certificate SN,
// the root SN and the current Alipay leaf.
func (s *Sim) certApp(appID string) (appSN, rootSN string, leaf *alipayLeaf, ok bool) {
	ca := &s.certs
	ca.mu.RLock()
	defer ca.mu.RUnlock()
	a := ca.apps[appID]
	if a == nil {
		return "", "", nil, false
	}
	return a.sn, ca.rootSN, ca.current, true
}

// checkCertParams applies certificate mode to a form request of app: the serials must
// be present and match, else Alipay's sub_codes. It returns the leaf to sign the answer
// with (nil for a public-key app).
func (s *Sim) checkCertParams(appID, appCertSN, rootCertSN string) (*alipayLeaf, *node) {
	appSN, rootSN, leaf, ok := s.certApp(appID)
	if !ok {
		return nil, nil
	}
	switch {
	case appCertSN == "":
		return leaf, gatewayError(codeMissing, subMissingAppCertSN, "缺少应用公钥证书序列号 app_cert_sn (certificate-mode app)")
	case rootCertSN == "":
		return leaf, gatewayError(codeMissing, subMissingRootCertSN, "缺少支付宝根证书序列号 alipay_root_cert_sn (certificate-mode app)")
	case appCertSN != appSN:
		return leaf, gatewayError(codeInvalid, subAppCertNotExist, "应用公钥证书不存在: app_cert_sn "+truncate(appCertSN, 64)+" is not this app's certificate")
	case rootCertSN != rootSN:
		return leaf, gatewayError(codeInvalid, subInvalidRootCertSN, "无效的支付宝根证书序列号: alipay_root_cert_sn must cover the RSA certificates of alipayRootCert.crt only")
	}
	return leaf, nil
}

// certDownload answers alipay.open.app.alipaycert.download: alipay_cert_content is the
// base64 of the PEM file (leaf + issuer) of the serial asked for.
func (s *Sim) certDownload(bizContent string) *node {
	var biz struct {
		SN string `json:"alipay_cert_sn"`
	}
	if err := json.Unmarshal([]byte(bizContent), &biz); err != nil || biz.SN == "" {
		return gatewayError(codeMissing, "isv.missing-parameter", "缺少参数 alipay_cert_sn")
	}
	ca := &s.certs
	ca.mu.RLock()
	defer ca.mu.RUnlock()
	leaf := ca.leaves[biz.SN]
	if leaf == nil {
		return bizError(subAlipayCertMissing, "支付宝公钥证书不存在: no certificate with serial "+truncate(biz.SN, 64))
	}
	return success().set("alipay_cert_content", base64.StdEncoding.EncodeToString(leaf.pem))
}

// certDownloadHandler is the methods-table entry: the download touches no trade state,
// so the gateway answers it from the CA before the engine runs (see gateway).
func (t *txn) certDownloadHandler(c *call) *node {
	return gatewayError(codeUnknown, "isp.unknow-error", "alipaycert.download is answered by the gateway")
}

// The control endpoints of certificate mode.

type certAppJSON struct {
	appJSON
	KeyMode string `json:"key_mode"`
	*AppCerts
}

// appSpecWithMode is POST /sandbox/apps' body: AppSpec plus key_mode.
type appSpecWithMode struct {
	AppSpec
	KeyMode string `json:"key_mode,omitempty"`
}

// postAppWithMode registers a "public_key" (default) or "cert" app.
func (s *Sim) postAppWithMode(w http.ResponseWriter, r *http.Request, spec appSpecWithMode) {
	switch spec.KeyMode {
	case "", "public_key":
		a, err := s.RegisterApp(r.Context(), spec.AppSpec)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, s.appJSON(r, a))
	case "cert":
		a, certs, err := s.RegisterCertApp(r.Context(), spec.AppSpec)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, certAppJSON{appJSON: s.appJSON(r, a), KeyMode: "cert", AppCerts: certs})
	default:
		writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "key_mode %q must be \"public_key\" (default) or \"cert\"", spec.KeyMode))
	}
}

func (s *Sim) getAppCerts(w http.ResponseWriter, r *http.Request) {
	c, err := s.AppCertificates(r.PathValue("app_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Sim) postRotateAlipayCert(w http.ResponseWriter, r *http.Request) {
	sn, pemText, err := s.RotateAlipayCert(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"alipay_cert_sn": sn, "alipay_cert": pemText})
}
