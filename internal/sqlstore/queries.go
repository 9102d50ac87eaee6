package sqlstore

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	_ "embed"
)

// Queries are the statements of both stores, one field a statement, named as in the
// .sql files.
type Queries struct {
	CreateMerchant, UpdateMerchant, FindMerchant, ListMerchants                                 string
	CreateApp, UpdateApp, AppVersion, FindApp, FindAppByAppID, ListApps                         string
	CreateStore, FindStore, ListStores                                                          string
	CreateTerminal, FindTerminal, FindTerminalByKeyID, ListTerminals                            string
	SetTerminalDisabled, SetTerminalSignedOnly, RotateTerminalKey                               string
	CreateOrder, FindOrder, FindOrderByID, ListOrders, UpdateOrder, OrderVersion                string
	InsertCall, OrderCalls, CountOrdersByState                                                  string
	CreateRefund, OrderMerchant, FindRefund, ListRefunds, UpdateRefund, RefundVersion           string
	EventBacklog                                                                                string
	InsertEvent, ListEvents, EventToken, CompleteEvent, RetryEvent                              string
	BeginIdempotent, FindIdempotent, CompleteIdempotent, TakeOverIdempotent                     string
	CountIdempotent, DeleteIdempotent, InstanceSeen, ForgetInstances                            string
	CreateMember, InsertIdentity, FindMember, MemberIdentities, MemberByUserID, MemberByOpenID  string
	FindMemberByPhone, ListMembers, LiveMember, SetMemberProfile, TouchIdentity, DeleteIdentity string
	DeleteIdentities, SignOutMember, EraseMember, CreateMemberSession, FindMemberSession        string
	UpdateMemberSession, DeleteMemberSession, RecordSMSSend, CountSMSSends                      string
	CancelOpenSales, CreateSale, FindSale, OpenSale, TakeSale, CancelSale                       string
	ExpireSales, PurgeMemberSessions, PurgeSMSSends                                             string
	CreateReconReport, ClaimReconReport, ReconReportHolder, FinishReconReport                   string
	UpdateReconSummary, FindReconReport, ListReconReports, ClearBillRows                        string
	InsertBillRow, MatchBillTrades, MatchBillRefunds, UnbilledOrders, UnbilledRefunds           string
	BillHasRow, AddReconEntry, UpdateReconEntry, ReconEntries, PendingReconEntries              string
	AppFeeRate, SetAppFeeRate, FindReconReportByID, CountOpenReconEntries                       string
	FindMerchantOrder                                                                           string
	CreateAuthorization, FindAuthorization, FindAuthorizationByAuthAppID                        string
	ListAuthorizations, UpdateAuthorization, AuthorizationVersion                               string
	CreateStaff, FindStaff, FindStaffByLogin, ListStaff, LoginFailed, LoginSucceeded            string
	CreateSession, FindSession, DeleteSession, AppendAudit, ListAudit                           string
	OrderStats, CallCount, CallLatencyAt                                                        string
	RequestRefundApproval, FindRefundApproval, FindRefundApprovalByRefundID                     string
	ListRefundApprovals, DecideRefundApproval, RefundApprovalAbove, SetRefundApprovalAbove      string
	DeleteRefundApprovalAbove, CreateLoginToken, UseLoginToken                                  string
	FindFundRule, FundRuleFor, UpdateFundRule, InsertFundRule, DeleteFundRule                   string
	UnboundApps, SaveRoyaltyRelation, ListRoyaltyRelations                                      string
	CreateSettlement, FindSettlement, UpdateSettlement, SettlementVersion                       string
	PutDevice, DeleteSlots, InsertSlot, FindDevice, DeviceSlots, TakeStock                      string
	InsertCommand, FindCommandByKey, FindCommand, DeliverCommands, AckCommand, ExpireCommands   string
	InitDeviceHealth, HeartbeatOnline, HeartbeatSeen, ClaimHeartbeatForward, MarkOffline        string
	FindDeviceHealth, ListDeviceHealth, CountDevicesByState                                     string
	ClaimDueOrders, ClaimDueRefunds, ClaimEvents                                                string // dialect
	LockIdempotent, IdempotentDone, BeatInstance, PurgeIdempotent                               string // dialect
	ClaimDueAuthorizations                                                                      string // dialect
	OrderSeries                                                                                 string // dialect
	ClaimDueSettlements                                                                         string // dialect
	CreateVendOrder, FindVendOrder, FindVendByKey, FindVendByTrade, ListVendOrders              string
	UpdateVendOrder, VendVersion                                                                string
	ClaimDueVendOrders                                                                          string // dialect

	// The open-door cabinet (cabinet.go).
	CreateAgreement, FindAgreement, FindAgreementByExternalNo, LatestAgreement, UpdateAgreement string
	AgreementVersion, OpenCabinetSession, FindCabinetSession, ListCabinetSessions               string
	CloseCabinetSession, UpdateCabinetSession, CabinetSessionVersion                            string
	ClaimDueCabinetSessions                                                                     string // dialect
}

//go:embed queries.sql
var shared string

// columns are the column lists the statements name as {orderCols} and the like: the
// scanners below read them in this order.
var columns = map[string]string{
	"openOrderStates":  openOrderStates,
	"appCols":          appCols,
	"approvalCols":     approvalCols,
	"auditCols":        auditCols,
	"authCols":         authCols,
	"commandCols":      commandCols,
	"deviceCols":       deviceCols,
	"slotCols":         slotCols,
	"callCols":         callCols,
	"eventCols":        eventCols,
	"fundRuleCols":     fundRuleCols,
	"healthCols":       healthCols,
	"healthListCols":   healthListCols,
	"idemCols":         idemCols,
	"identityCols":     identityCols,
	"memberCols":       memberCols,
	"merchantCols":     merchantCols,
	"orderCols":        orderCols,
	"reconEntryCols":   reconEntryCols,
	"reconReportCols":  reconReportCols,
	"refundCols":       refundCols,
	"saleCols":         saleCols,
	"sessionCols":      sessionCols,
	"settlementCols":   settlementCols,
	"staffCols":        staffCols,
	"staffSessionCols": staffSessionCols,
	"storeCols":        storeCols,
	"terminalCols":     terminalCols,
	"vendCols":         vendCols,

	"agreementCols":      agreementCols,
	"cabinetSessionCols": cabinetSessionCols,
}

var (
	nameLine = regexp.MustCompile(`(?m)^-- name: (\w+)\s*$`)
	macro    = regexp.MustCompile(`\{(\w+)\}`)
	dollar   = regexp.MustCompile(`\$(\d+)`)
)

// Load returns the shared statements and a dialect's own (dialectSQL, the store's
// queries.sql), with placeholders rendered as p: '$' for PostgreSQL, '?' for SQLite.
// Every field of Queries must be defined exactly once in the two.
func Load(dialectSQL string, p byte) (*Queries, error) {
	q := new(Queries)
	v := reflect.ValueOf(q).Elem()
	for _, file := range []string{shared, dialectSQL} {
		locs := nameLine.FindAllStringSubmatchIndex(file, -1)
		for i, loc := range locs {
			name := file[loc[2]:loc[3]]
			end := len(file)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			f := v.FieldByName(name)
			if !f.IsValid() {
				return nil, fmt.Errorf("sqlstore: statement %s is not one of Queries", name)
			}
			if f.String() != "" {
				return nil, fmt.Errorf("sqlstore: statement %s is defined twice", name)
			}
			text := render(file[loc[1]:end], p)
			if m := macro.FindString(text); m != "" {
				// A column list or constant the statement names but columns lacks:
				// refuse at load rather than send "{…}" to the database.
				return nil, fmt.Errorf("sqlstore: statement %s names %s, which is not in columns", name, m)
			}
			f.SetString(text)
		}
	}
	for i := range v.NumField() {
		if v.Field(i).String() == "" {
			return nil, fmt.Errorf("sqlstore: statement %s is missing", v.Type().Field(i).Name)
		}
	}
	return q, nil
}

// MustLoad is Load for a store's package variable: a statement file out of step
// with Queries is a programming error, which every test of the store catches.
func MustLoad(dialectSQL string, p byte) *Queries {
	q, err := Load(dialectSQL, p)
	if err != nil {
		panic(err)
	}
	return q
}

// render trims a statement of its comments and trailing semicolon, expands the column
// lists and renders the placeholders.
func render(text string, p byte) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		lines = append(lines, l)
	}
	s := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")
	s = macro.ReplaceAllStringFunc(s, func(m string) string {
		if c, ok := columns[m[1:len(m)-1]]; ok {
			return c
		}
		return m
	})
	if p != '$' {
		s = dollar.ReplaceAllString(s, string(rune(p))+"$1")
	}
	return s
}
