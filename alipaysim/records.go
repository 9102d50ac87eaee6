package alipaysim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// record is a persisted document of the kinds added after the first sandbox release:
// OAuth codes and tokens, receiver accounts, merchant authorisations of ISV apps, bill
// download links, heartbeats and certificate mode's PKI. They travel through Changes and State as generic
// Records, so the Store interface does not grow a method or a field per kind.
type record interface {
	recordKind() string
	recordID() string
	cloneRecord() record
}

// Record kinds.
const (
	kindOAuthCode    = "oauth_code"
	kindOAuthToken   = "oauth_token"
	kindAccount      = "account"
	kindAppAuthCode  = "app_auth_code"
	kindAppAuthToken = "app_auth_token"
	kindBillLink     = "bill_link"
	kindHeartbeat    = "heartbeat"
	// Certificate mode's CA, Alipay certificates and app certificates (certs_store.go).
	kindCertAuthority = "cert_authority"
	kindAlipayCert    = "alipay_cert"
	kindAppCert       = "app_cert"
)

// newRecord returns an empty record of a kind, nil for a kind this sandbox does not know
// (written by a newer one; such records are kept in the store and ignored).
func newRecord(kind string) record {
	switch kind {
	case kindOAuthCode:
		return &OAuthCode{}
	case kindOAuthToken:
		return &OAuthToken{}
	case kindAccount:
		return &Account{}
	case kindRelation:
		return &Relation{}
	case kindAppAuthCode:
		return &AppAuthCode{}
	case kindAppAuthToken:
		return &AppAuthToken{}
	case kindBillLink:
		return &BillLink{}
	case kindHeartbeat:
		return &Heartbeat{}
	case kindCertAuthority:
		return &certAuthorityRecord{}
	case kindAlipayCert:
		return &alipayCertRecord{}
	case kindAppCert:
		return &appCertRecord{}
	case kindFaceSession:
		return &FaceSession{}
	case kindAgreement:
		return &Agreement{}
	case kindSignRequest:
		return &SignRequest{}
	}
	return nil
}

// Record is one generic record in Changes: Value is marshalled to JSON by the store.
type Record struct {
	Kind  string
	ID    string
	Value any
}

// RawRecord is one generic record in State, as stored.
type RawRecord struct {
	Kind string
	ID   string
	Body json.RawMessage
}

// recordSet is the engine's copy of the generic records, by kind and id.
type recordSet map[string]map[string]record

func (rs recordSet) get(kind, id string) record {
	return rs[kind][id]
}

func (rs recordSet) put(r record) {
	m := rs[r.recordKind()]
	if m == nil {
		m = map[string]record{}
		rs[r.recordKind()] = m
	}
	m[r.recordID()] = r
}

// decodeRecords turns stored records into typed ones, skipping unknown kinds.
func decodeRecords(raw []RawRecord) ([]record, error) {
	out := make([]record, 0, len(raw))
	for _, r := range raw {
		v := newRecord(r.Kind)
		if v == nil {
			continue
		}
		if err := json.Unmarshal(r.Body, v); err != nil {
			return nil, fmt.Errorf("sandbox: record %s/%s is corrupt: %w", r.Kind, r.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// rec returns the record of kind and id as this transaction sees it, nil if none.
func (t *txn) rec(kind, id string) record {
	if r, ok := t.recs[kind+"\x00"+id]; ok {
		return r
	}
	return t.e.recs.get(kind, id)
}

// recW returns a writable copy of a record, nil if none.
func (t *txn) recW(kind, id string) record {
	if r, ok := t.recs[kind+"\x00"+id]; ok {
		return r
	}
	r := t.e.recs.get(kind, id)
	if r == nil {
		return nil
	}
	r = r.cloneRecord()
	t.putRec(r)
	return r
}

func (t *txn) putRec(r record) {
	if t.recs == nil {
		t.recs = map[string]record{}
	}
	k := r.recordKind() + "\x00" + r.recordID()
	if _, ok := t.recs[k]; !ok {
		t.recOrder = append(t.recOrder, k)
	}
	t.recs[k] = r
}

// eachRec calls fn for every record of kind, the transaction's versions first, in no
// particular order.
func (t *txn) eachRec(kind string, fn func(record) bool) {
	for _, k := range t.recOrder {
		if strings.HasPrefix(k, kind+"\x00") {
			if !fn(t.recs[k]) {
				return
			}
		}
	}
	for id, r := range t.e.recs[kind] {
		if _, ok := t.recs[kind+"\x00"+id]; ok {
			continue
		}
		if !fn(r) {
			return
		}
	}
}

func (t *txn) recChanges() []Record {
	out := make([]Record, 0, len(t.recOrder))
	for _, k := range t.recOrder {
		r := t.recs[k]
		out = append(out, Record{Kind: r.recordKind(), ID: r.recordID(), Value: r})
	}
	return out
}

// recordsOf returns copies of every record of a kind, sorted by id.
func (e *engine) recordsOf(kind string) []record {
	ids := slices.Sorted(maps.Keys(e.recs[kind]))
	out := make([]record, 0, len(ids))
	for _, id := range ids {
		out = append(out, e.recs[kind][id].cloneRecord())
	}
	return out
}
