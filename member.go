package f2fpay

import (
	"context"
	"strings"
	"time"
)

// Member is a buyer a merchant (a vending operator) knows: one or more linked Alipay
// identities, an optional verified phone number and the profile Alipay shared
// (alipay.user.info.share). Members are per merchant: the same person at two
// operators is two members. docs/vending.md §8 tells how a buyer becomes one.
type Member struct {
	ID         int64 `json:"id"`
	MerchantID int64 `json:"merchant_id"`
	// PhoneMasked is the verified phone number as shown ("138****5678"); "" when none.
	PhoneMasked string `json:"phone_masked,omitempty"`
	// PhoneSealed is the number sealed with the master key (purpose
	// MemberPhonePurpose); PhoneHash its keyed hash (HMAC-SHA256 under a key derived
	// from the master key), what a lookup by phone compares. Never returned or logged.
	PhoneSealed string `json:"-"`
	PhoneHash   []byte `json:"-"`
	MemberProfile
	Identities []*MemberIdentity `json:"identities"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	// ErasedAt is when the person was erased (EraseMember): the row stays so that
	// what refers to it still does, without identities, phone or profile.
	ErasedAt time.Time `json:"erased_at,omitzero"`
}

// MemberProfile is what alipay.user.info.share gives of a buyer who consented
// (scope auth_user).
type MemberProfile struct {
	NickName string `json:"nick_name,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
	Gender   string `json:"gender,omitempty"` // "m", "f" or ""
	Province string `json:"province,omitempty"`
	City     string `json:"city,omitempty"`
}

// MemberIdentity is an Alipay account linked to a member, as one app of the merchant
// knows it: its user id (2088…) or its open id (apps created from 2023 receive only
// that, docs/vending.md §4), or both when the app received both. An app that switches
// from user ids to open ids fills in the other field on the buyer's next visit.
type MemberIdentity struct {
	ID       int64  `json:"id"`
	MemberID int64  `json:"member_id"`
	AppID    int64  `json:"app_id"` // the service's app id
	UserID   string `json:"user_id,omitempty"`
	OpenID   string `json:"open_id,omitempty"`
	// LinkedAt is when the identity was linked; SeenAt when it last signed in.
	LinkedAt time.Time `json:"linked_at"`
	SeenAt   time.Time `json:"seen_at"`
}

// Lengths of what members keep.
const (
	MaxOpenIDLen  = 128
	MaxProfileLen = 256 // nick name, province, city
	MaxAvatarLen  = 1024
)

// MemberPhonePurpose is the secret.Box purpose members' phone numbers are sealed
// under.
const MemberPhonePurpose = "member:phone"

// Validate checks an identity names an app and an Alipay account.
func (i *MemberIdentity) Validate() error {
	if i.AppID == 0 {
		return Errorf(EINVALID, "identity: the app is missing")
	}
	if i.UserID == "" && i.OpenID == "" {
		return Errorf(EINVALID, "identity: neither user_id nor open_id is given")
	}
	if i.UserID != "" && !IsPID(i.UserID) {
		return Errorf(EINVALID, "identity: user_id %q is not an Alipay user id (2088 and 12 more digits)", i.UserID)
	}
	return CheckID("open_id", i.OpenID, false, MaxOpenIDLen)
}

// Validate trims the profile to the lengths the store keeps: Alipay's profile is
// what it is, and a nick name too long for us is cut, not refused.
func (p *MemberProfile) Validate() error {
	p.NickName = cut(p.NickName, MaxProfileLen)
	p.Province = cut(p.Province, MaxProfileLen)
	p.City = cut(p.City, MaxProfileLen)
	p.Gender = cut(p.Gender, 8)
	if len(p.Avatar) > MaxAvatarLen || (p.Avatar != "" && !strings.HasPrefix(p.Avatar, "https://") && !strings.HasPrefix(p.Avatar, "http://")) {
		p.Avatar = ""
	}
	return nil
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// NormalizePhone returns a mainland China mobile number as 11 digits, accepting
// "+86", "0086", spaces and dashes; EINVALID otherwise. Only mainland numbers are
// accepted because the SMS senders operators use for vending send only to them.
func NormalizePhone(s string) (string, error) {
	d := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == ' ' || r == '-' || r == '+':
			return -1
		}
		return 'x'
	}, strings.TrimSpace(s))
	d = strings.TrimPrefix(d, "0086")
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' || d[1] < '3' || strings.Contains(d, "x") {
		return "", Errorf(EINVALID, "enter an 11-digit mainland China mobile number, such as 138 0013 8000")
	}
	return d, nil
}

// MaskPhone shows a normalized number as 138****5678.
func MaskPhone(phone string) string {
	if len(phone) < 7 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + strings.Repeat("*", len(phone)-7) + phone[len(phone)-4:]
}

// MemberFilter selects a merchant's members for ListMembers.
type MemberFilter struct {
	MerchantID int64
	// AfterID pages: members with a greater id. Limit bounds the page (100 when 0).
	AfterID int64
	Limit   int
}

// MemberSession is a buyer's browser on the service's H5 pages: the account-linking
// flow in progress and, once it ends, the member signed in. The cookie holds a random
// token; the store keeps only its SHA-256 (TokenHash), so a copy of the database
// signs nobody in.
type MemberSession struct {
	ID         int64
	TokenHash  []byte
	MerchantID int64
	// TerminalID is the machine whose QR opened the session.
	TerminalID int64
	// State is the OAuth state of the authorisation under way, "" when none: the
	// callback must bring it back, and it is cleared when used, so a replayed
	// callback (or one forged from another browser) is refused.
	State string
	Scope string
	// MemberID is the member signed in; 0 while linking.
	MemberID int64
	// The identity being linked, once OAuth gave it, and its profile once consented.
	AppID          int64
	UserID, OpenID string
	Profile        MemberProfile
	Consented      bool
	// The phone number being verified: sealed and hashed like Member's, with the SMS
	// code's keyed hash, expiry and wrong attempts.
	PhoneSealed   string
	PhoneHash     []byte
	CodeHash      []byte
	CodeExpiresAt time.Time
	CodeAttempts  int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
	// Version is 1 at creation, +1 per update: UpdateMemberSession is a
	// compare-and-set on it, so two tabs racing on one step cannot both win.
	Version int64
}

// SMSSend records that a code was sent, for the rate limits (per phone, per client).
type SMSSend struct {
	MerchantID int64
	PhoneHash  []byte
	Client     string // the client's address (or another key of the sender)
	SentAt     time.Time
}

// MemberStore persists members, their identities, their browser sessions and the SMS
// sends the rate limits count.
//
// Identities are unique per app: the same user id, or the same open id, is linked to
// at most one member of an app (ECONFLICT otherwise). A phone hash is unique within a
// merchant (ECONFLICT). Lookups that find nothing are ENOTFOUND.
type MemberStore interface {
	// CreateMember inserts m with its identities (at least one) in one transaction,
	// filling the ids and times; nothing is written when any part fails.
	CreateMember(ctx context.Context, m *Member) error
	FindMember(ctx context.Context, id int64) (*Member, error)
	// FindMemberByIdentity finds the member linked to the app's user id (when userID
	// is not "") or open id.
	FindMemberByIdentity(ctx context.Context, appID int64, userID, openID string) (*Member, error)
	FindMemberByPhone(ctx context.Context, merchantID int64, phoneHash []byte) (*Member, error)
	// ListMembers returns members by id, oldest first.
	ListMembers(ctx context.Context, f MemberFilter) ([]*Member, error)
	// LinkIdentity adds id to member memberID and, when profile is not nil, replaces
	// its profile, in one transaction; an erased or unknown member is ENOTFOUND.
	LinkIdentity(ctx context.Context, memberID int64, id *MemberIdentity, profile *MemberProfile) error
	// TouchIdentity records a sign-in: SeenAt, and the user id or open id the
	// identity lacked (an app that switched) when given.
	TouchIdentity(ctx context.Context, identityID int64, userID, openID string) error
	// UnlinkIdentity removes one identity of a member (ENOTFOUND when it is not the
	// member's) and signs the member's sessions out.
	UnlinkIdentity(ctx context.Context, memberID, identityID int64) error
	// EraseMember drops the person: identities, phone, profile and sessions, in one
	// transaction; the member row stays, with ErasedAt set. Orders are kept.
	EraseMember(ctx context.Context, id int64) error

	CreateMemberSession(ctx context.Context, s *MemberSession) error
	// FindMemberSession returns ENOTFOUND for an unknown or expired session.
	FindMemberSession(ctx context.Context, tokenHash []byte) (*MemberSession, error)
	// UpdateMemberSession writes s if its Version is the stored one (ECONFLICT
	// otherwise) and increments it.
	UpdateMemberSession(ctx context.Context, s *MemberSession) error
	DeleteMemberSession(ctx context.Context, id int64) error

	RecordSMSSend(ctx context.Context, s SMSSend) error
	// CountSMSSends counts a merchant's sends since then, to the phone and by the
	// client.
	CountSMSSends(ctx context.Context, merchantID int64, phoneHash []byte, client string, since time.Time) (toPhone, byClient int, err error)
	// PurgeMemberSessions deletes up to limit sessions that expired at or before
	// before and returns how many.
	PurgeMemberSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// PurgeSMSSends deletes up to limit send records older than before (the rate
	// limits look back an hour) and returns how many.
	PurgeSMSSends(ctx context.Context, before time.Time, limit int) (int, error)
}
