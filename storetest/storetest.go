// Package storetest is the conformance suite of f2fpay.Storage: one set of tests that
// the SQLite and the PostgreSQL stores both pass, so the service behaves the same on
// either. Each store package calls Run from its own tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Run runs the suite. open returns a fresh, empty, migrated store and arranges its
// Close with t.Cleanup; every subtest opens its own, so they run in parallel.
func Run(t *testing.T, open func(t *testing.T) f2fpay.Storage) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s f2fpay.Storage)
	}{
		{"Ping", testPing},
		{"Merchants", testMerchants},
		{"Apps", testApps},
		{"Stores", testStores},
		{"Terminals", testTerminals},
		{"MerchantUpdates", testMerchantUpdates},
		{"AppUpdates", testAppUpdates},
		{"AppUpdatesConcurrent", testAppUpdatesConcurrent},
		{"TerminalKeyRotation", testTerminalKeyRotation},
		{"MerchantReadsAfterWrites", testMerchantReadsAfterWrites},
		{"CreateOrder", testCreateOrder},
		{"Amounts", testAmounts},
		{"Times", testTimes},
		{"UpdateOrder", testUpdateOrder(durableUpdate)},
		{"UpdateOrderLazy", testUpdateOrder(lazyUpdate)},
		{"UpdateOrderAtomic", testUpdateOrderAtomic(durableUpdate)},
		{"UpdateOrderLazyAtomic", testUpdateOrderAtomic(lazyUpdate)},
		{"Calls", testCalls},
		{"ListOrders", testListOrders},
		{"OrderNumberScope", testOrderNumberScope},
		{"ClaimDueOrders", testClaimDueOrders},
		{"ClaimDueOrdersLeases", testClaimDueOrdersLeases},
		{"ClaimDueOrdersConcurrent", testClaimDueOrdersConcurrent},
		{"CountOrdersByState", testCountOrdersByState},
		{"Promotions", testPromotions},
		{"Refunds", testRefunds},
		{"UpdateRefund", testUpdateRefund},
		{"ClaimDueRefunds", testClaimDueRefunds},
		{"Events", testEvents},
		{"EventFencing", testEventFencing},
		{"EventRetryDead", testEventRetryDead},
		{"ReplayEvents", testReplayEvents},
		{"EventBacklog", testEventBacklog},
		{"ClaimEventsConcurrent", testClaimEventsConcurrent},
		{"Idempotency", testIdempotency},
		{"PurgeIdempotent", testPurgeIdempotent},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyTakeOver", testIdempotencyTakeOver},
		{"Instances", testInstances},
		{"Members", testMembers},
		{"MemberErase", testMemberErase},
		{"MemberSessions", testMemberSessions},
		{"SMSSends", testSMSSends},
		{"Sales", testSales},
		{"Housekeeping", testHousekeeping},
		{"Staff", testStaff},
		{"Audit", testAudit},
		{"OrderStats", testOrderStats},
		{"ConsoleFilters", testConsoleFilters},
		{"FundRules", testFundRules},
		{"Settlements", testSettlements},
		{"Authorizations", testAuthorizations},
		{"ClaimDueAuthorizations", testClaimDueAuthorizations},
		{"ISVOrderScope", testISVOrderScope},
		{"Recon", testRecon},
		{"VendOrders", testVendOrders},
		{"ClaimDueVendOrders", testClaimDueVendOrders},
		{"Agreements", testAgreements},
		{"CabinetSessions", testCabinetSessions},
		{"ClaimDueCabinetSessions", testClaimDueCabinetSessions},
		{"Devices", testDevices},
		{"TakeStock", testTakeStock},
		{"Commands", testCommands},
		{"AckConcurrent", testAckConcurrent},
		{"RefundApprovals", testRefundApprovals},
		{"LoginTokens", testLoginTokens},
		{"DeviceHealth", testDeviceHealth},
		{"DeviceHealthConcurrent", testDeviceHealthConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// wantCode fails unless err carries the f2fpay error code want ("" for nil).
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := f2fpay.ErrorCode(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
	var e *f2fpay.Error
	if want != "" && (!errors.As(err, &e) || e.Message == "") {
		t.Fatalf("error %v has no message for the user", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is a merchant with an app, a store and a cashier terminal.
type fixture struct {
	s        f2fpay.Storage
	merchant *f2fpay.Merchant
	app      *f2fpay.App
	store    *f2fpay.Store
	terminal *f2fpay.Terminal
	seq      int
}

func newFixture(t testing.TB, s f2fpay.Storage) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{s: s}
	fx.merchant = &f2fpay.Merchant{Name: "Fixture Mart", WebhookURL: "https://merchant.example/hook", WebhookSecret: "whsec"}
	must(t, s.CreateMerchant(ctx, fx.merchant))
	fx.app = &f2fpay.App{MerchantID: fx.merchant.ID, AppID: fmt.Sprintf("2021%012d", fx.merchant.ID), Name: "main",
		Gateway: "https://openapi.alipay.com/gateway.do", SignType: "RSA2", KeyMode: f2fpay.KeyModePublicKey,
		PrivateKey: "sealed:abc", AlipayPublicKey: "MIIB...", SellerID: "2088102146225135"}
	must(t, s.CreateApp(ctx, fx.app))
	fx.store = &f2fpay.Store{MerchantID: fx.merchant.ID, Code: "S001", Name: "Main street"}
	must(t, s.CreateStore(ctx, fx.store))
	fx.terminal = &f2fpay.Terminal{MerchantID: fx.merchant.ID, StoreID: fx.store.ID, AppID: fx.app.ID, Code: "POS-1",
		Kind: f2fpay.TerminalCashier, Name: "till 1", KeyID: fmt.Sprintf("tk_%d", fx.merchant.ID), KeyHash: []byte{1, 2, 3},
		SigningSecret: "sealed:signing"}
	must(t, s.CreateTerminal(ctx, fx.terminal))
	return fx
}

// order returns an unsaved barcode order of the fixture's terminal.
func (fx *fixture) order(state f2fpay.OrderState) *f2fpay.Order {
	fx.seq++
	return &f2fpay.Order{
		OutTradeNo: fmt.Sprintf("m%d-%s-%d", fx.merchant.ID, time.Now().Format("150405.000000"), fx.seq),
		MerchantID: fx.merchant.ID, AppID: fx.app.ID, StoreID: fx.store.ID, TerminalID: fx.terminal.ID,
		Kind: f2fpay.KindBarcode, Subject: "cola", TotalAmount: 350, AuthCodeMasked: "2876****3940", State: state,
	}
}

// createOrder saves a new order in state.
func (fx *fixture) createOrder(t testing.TB, state f2fpay.OrderState, events ...*f2fpay.Event) *f2fpay.Order {
	t.Helper()
	o := fx.order(state)
	must(t, fx.s.CreateOrder(context.Background(), o, events...))
	return o
}

// event returns an unsaved event with a small JSON payload.
func event(typ f2fpay.EventType) *f2fpay.Event {
	return &f2fpay.Event{Type: typ, Payload: json.RawMessage(`{"n":1}`)}
}

// base is a fixed instant with microseconds, far from the zone's midnight, so that
// time conversions show.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

func testPing(t *testing.T, s f2fpay.Storage) {
	must(t, s.Ping(t.Context()))
}
