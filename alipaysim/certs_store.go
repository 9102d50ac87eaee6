package alipaysim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/f2fpay/f2fpay/alipay"
)

// The certificate authority of certificate mode (certs.go) is kept as records, so a
// sandbox restarted on its --data directory answers with the same certificates. Without
// them a restart would make a new PKI: every app's app_cert_sn and alipay_root_cert_sn
// would be refused as isv.app-cert-not-exist, and clients holding a rotated-out
// alipay_cert_sn could no longer download it. The keys are this sandbox's own
// throwaway CA keys, stored beside its Alipay key (Meta.AlipayKey) for the same reason.

// certAuthorityID is the id of the one certAuthorityRecord.
const certAuthorityID = "sandbox"

// certAuthorityRecord is the sandbox CA: both roots, the intermediate, their keys, the
// current Alipay certificate and the last serial issued. Certificates are PEM, keys
// base64 PKCS#8 DER.
type certAuthorityRecord struct {
	ID         string `json:"id"`
	RootCert   string `json:"root_cert"` // the RSA root: alipay_root_cert_sn
	RootKey    string `json:"root_key"`
	ECRootCert string `json:"ec_root_cert"` // first in alipayRootCert.crt, outside the SN
	ECRootKey  string `json:"ec_root_key"`
	InterCert  string `json:"inter_cert"`
	InterKey   string `json:"inter_key"`
	// CurrentSN is the Alipay certificate that signs answers to certificate apps.
	CurrentSN string `json:"current_alipay_cert_sn"`
	// LastSerial is the serial of the last certificate the intermediate issued; the
	// next one gets LastSerial+1, so serials (and so SNs) never repeat across restarts.
	LastSerial int64 `json:"last_serial"`
}

func (r *certAuthorityRecord) recordKind() string  { return kindCertAuthority }
func (r *certAuthorityRecord) recordID() string    { return r.ID }
func (r *certAuthorityRecord) cloneRecord() record { c := *r; return &c }

// alipayCertRecord is one Alipay public-key certificate, rotated-out ones included
// (clients download old serials), with the key it certifies.
type alipayCertRecord struct {
	SN   string `json:"alipay_cert_sn"`
	Cert string `json:"cert"` // alipayCertPublicKey_RSA2.crt: leaf, then the intermediate
	Key  string `json:"key"`
}

func (r *alipayCertRecord) recordKind() string  { return kindAlipayCert }
func (r *alipayCertRecord) recordID() string    { return r.SN }
func (r *alipayCertRecord) cloneRecord() record { c := *r; return &c }

// appCertRecord is the certificate issued to a certificate-mode app.
type appCertRecord struct {
	AppID string `json:"app_id"`
	SN    string `json:"app_cert_sn"`
	Cert  string `json:"cert"`
}

func (r *appCertRecord) recordKind() string  { return kindAppCert }
func (r *appCertRecord) recordID() string    { return r.AppID }
func (r *appCertRecord) cloneRecord() record { c := *r; return &c }

func encodeKey(key any) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

func decodeKey(s string) (any, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return x509.ParsePKCS8PrivateKey(der)
}

func decodeRSAKey(s string) (*rsa.PrivateKey, error) {
	k, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA key", k)
	}
	return rk, nil
}

// loadCerts rebuilds the CA from the store at start; without a stored CA it stays
// unbuilt until the first certificate app or rotation.
func (s *Sim) loadCerts() error {
	var (
		rec    *certAuthorityRecord
		leaves []*alipayCertRecord
		apps   []*appCertRecord
	)
	s.e.view(func(t *txn) {
		rec, _ = t.rec(kindCertAuthority, certAuthorityID).(*certAuthorityRecord)
		t.eachRec(kindAlipayCert, func(r record) bool {
			leaves = append(leaves, r.cloneRecord().(*alipayCertRecord))
			return true
		})
		t.eachRec(kindAppCert, func(r record) bool {
			apps = append(apps, r.cloneRecord().(*appCertRecord))
			return true
		})
	})
	if rec == nil {
		return nil
	}
	rec = rec.cloneRecord().(*certAuthorityRecord)
	s.certs.writeMu.Lock()
	defer s.certs.writeMu.Unlock()
	if err := s.certs.install(rec, leaves, apps); err != nil {
		return fmt.Errorf("sandbox: the stored certificate authority is unreadable (delete the cert_authority, alipay_cert and app_cert records, then register the certificate apps again): %w", err)
	}
	return nil
}

// install makes the CA of rec, its Alipay certificates and app certificates the
// current one. The caller holds writeMu.
func (ca *certAuthority) install(rec *certAuthorityRecord, leaves []*alipayCertRecord, apps []*appCertRecord) error {
	interKey, err := decodeRSAKey(rec.InterKey)
	if err != nil {
		return fmt.Errorf("intermediate key: %w", err)
	}
	// The root keys sign nothing after the build; they are checked so that a damaged
	// record is reported at start rather than carried along.
	if _, err := decodeRSAKey(rec.RootKey); err != nil {
		return fmt.Errorf("root key: %w", err)
	}
	if _, err := decodeKey(rec.ECRootKey); err != nil {
		return fmt.Errorf("ECDSA root key: %w", err)
	}
	inter, err := alipay.ParseCertificates([]byte(rec.InterCert))
	if err != nil || len(inter) != 1 {
		return fmt.Errorf("intermediate certificate: %v (%d certificates)", err, len(inter))
	}
	bundle := rec.ECRootCert + rec.RootCert
	rootSN, err := alipay.RootCertSN([]byte(bundle))
	if err != nil {
		return fmt.Errorf("root certificates: %w", err)
	}
	byLeaf := make(map[string]*alipayLeaf, len(leaves))
	for _, l := range leaves {
		key, err := decodeRSAKey(l.Key)
		if err != nil {
			return fmt.Errorf("key of Alipay certificate %s: %w", l.SN, err)
		}
		byLeaf[l.SN] = &alipayLeaf{sn: l.SN, pem: []byte(l.Cert), signer: alipay.NewKeySigner(key)}
	}
	current := byLeaf[rec.CurrentSN]
	if current == nil {
		return fmt.Errorf("the current Alipay certificate %s is not stored", rec.CurrentSN)
	}
	byApp := make(map[string]*appCert, len(apps))
	for _, a := range apps {
		byApp[a.AppID] = &appCert{sn: a.SN, pem: []byte(a.Cert)}
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.interKey, ca.inter, ca.interPEM = interKey, inter[0], []byte(rec.InterCert)
	ca.bundlePEM, ca.rootSN = []byte(bundle), rootSN
	ca.leaves, ca.current, ca.apps = byLeaf, current, byApp
	ca.stored = rec
	return nil
}
