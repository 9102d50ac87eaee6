package f2fpay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// EventType names what happened, for the merchant's own systems.
type EventType string

const (
	EventPaymentSucceeded EventType = "payment.succeeded"
	EventPaymentFailed    EventType = "payment.failed"
	EventPaymentClosed    EventType = "payment.closed"
	EventPaymentCancelled EventType = "payment.cancelled"
	EventRefundSucceeded  EventType = "refund.succeeded"
	EventRefundFailed     EventType = "refund.failed"
	// EventReconOpenEntries: a reconciliation closed a day with entries a person must
	// look at (ReconOpenEntries is its payload).
	EventReconOpenEntries EventType = "reconciliation.open_entries"
)

// EventSchemaVersion is the version of the webhook body (the "version" field): the
// envelope {"id","type","version","created_at","data"} with PublicOrder or
// PublicRefund as data. Fields may be added within a version; a change that renames
// or removes one gets a new version (docs/api.md, "Webhooks").
const EventSchemaVersion = "2026-12-01"

// Event is an outbox entry: written in the same transaction as the state change it
// announces, then delivered as a signed webhook until the merchant's endpoint accepts
// it. ID is unique and stable across retries, for consumer-side dedupe.
type Event struct {
	ID         string          `json:"id"`
	Type       EventType       `json:"type"`
	MerchantID int64           `json:"merchant_id"`
	OrderID    int64           `json:"order_id,omitempty"`
	RefundID   int64           `json:"refund_id,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	CreatedAt  time.Time       `json:"created_at"`

	// Delivery state.
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
	// DeadAt is set when retries are exhausted; a replay clears it.
	DeadAt    time.Time `json:"dead_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	// Token is the fencing token of the current lease: a delivery outcome is recorded
	// only with the token of the lease under which it was attempted, so a worker whose
	// lease expired (paused, partitioned) cannot overwrite a newer attempt's result.
	Token int64 `json:"-"`
}

// NewEventID returns a random event id ("evt_" and 24 hex digits), what stores give an
// event enqueued without one.
func NewEventID() string {
	var b [12]byte
	rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// EventFilter selects events for listing and replay.
type EventFilter struct {
	MerchantID  *int64
	OrderID     *int64
	Since       *time.Time
	Undelivered bool
	Limit       int
}

// EventStore is the outbox.
//
// Events are enqueued by the OrderStore writes they announce. An event without ID gets
// a random one; without CreatedAt, the write's time; without NextAttemptAt, its
// CreatedAt (due at once). The fields are set on the caller's Event after the commit.
// Payload must be JSON (else EINVALID) and is kept byte for byte.
// PoolStat is one connection pool of a store, for metrics: stores that have pools
// report them with a PoolStats() []PoolStat method (sqlite.DB, postgres.DB).
type PoolStat struct {
	Pool        string // e.g. "write", "read" (SQLite), "main", "lazy" (PostgreSQL)
	Max         int    // the pool's size limit
	InUse, Idle int
	// Waits counts acquisitions that had to wait for a connection since start, and
	// WaitSeconds the time they waited in all.
	Waits       int64
	WaitSeconds float64
}

// EventBacklog is the outbox's state for monitoring: events still to deliver, how old
// the oldest of them is (zero when none), and events given up on (dead).
type EventBacklog struct {
	Undelivered       int64
	OldestUndelivered time.Time
	Dead              int64
}

type EventStore interface {
	// ClaimEvents leases up to limit undelivered, not dead events whose NextAttemptAt is
	// at or before now and that no live lease holds; each claim increments the event's
	// Token. With PostgreSQL, FOR UPDATE SKIP LOCKED lets instances claim concurrently.
	// ClaimEvents, CompleteEvent and RetryEvent need not be durable when they return
	// (see Storage): losing them delivers an event again, which consumers dedupe by
	// its id.
	ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Event, error)
	// EventBacklog counts the undelivered and dead events, for metrics.
	EventBacklog(ctx context.Context) (*EventBacklog, error)
	// CompleteEvent marks e delivered if e.Token is still current, else ECONFLICT
	// (ENOTFOUND for an unknown event). Completing twice under one lease is harmless.
	CompleteEvent(ctx context.Context, e *Event, at time.Time) error
	// RetryEvent records a failed attempt (Attempts+1, LastError, NextAttemptAt, or DeadAt
	// when dead is true) if e.Token is still current, else ECONFLICT. It releases the
	// lease: the event is due again at next. When dead, next is also recorded as
	// DeadAt, so pass the time of the last attempt.
	RetryEvent(ctx context.Context, e *Event, next time.Time, lastErr string, dead bool) error
	// ListEvents returns the matching events in the order they were written; Since
	// compares with CreatedAt; Limit 0 means no limit.
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, error)
	// ReplayEvents makes the matching events due again at now (delivered or dead ones
	// too) and returns how many. A replay starts a fresh schedule (Attempts 0) and
	// moves the Token, so a worker still delivering one of them cannot record its
	// outcome over the replay.
	ReplayEvents(ctx context.Context, f EventFilter, now time.Time) (int, error)
}

// IdempotencyRecord remembers a terminal's POST by its Idempotency-Key.
type IdempotencyRecord struct {
	TerminalID  int64     `json:"terminal_id"`
	Key         string    `json:"key"`
	RequestHash string    `json:"request_hash"` // SHA-256 of method, path and body
	Done        bool      `json:"done"`
	Status      int       `json:"status,omitempty"`
	Response    []byte    `json:"response,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Owner names the instance (process) running the request while it is not done,
	// so that a retry can tell a request still running from one whose process died
	// (InstanceStore), and take the key over at once instead of after a timeout.
	Owner string `json:"owner,omitempty"`
}

// IdempotencyStore backs the Idempotency-Key semantics of the terminal API. None of
// its writes need be durable when the call returns (see Storage): a record lost in a
// power cut makes a retry run the request again, which the engine makes harmless (a
// payment's out_trade_no derives from its key and is paid at most once).
type IdempotencyStore interface {
	// BeginIdempotent inserts rec (not done) and returns (rec, true) when the key is
	// new; when it exists it returns the stored record and false, without changing it.
	// Concurrent calls with one key: exactly one gets true.
	BeginIdempotent(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, bool, error)
	// CompleteIdempotent stores the response of a begun record: ENOTFOUND when there
	// is none, ECONFLICT when RequestHash differs or it is done with another answer
	// (completing again with the same answer is harmless).
	CompleteIdempotent(ctx context.Context, rec *IdempotencyRecord) error
	// TakeOverIdempotent gives a begun, not done record to rec.Owner (and restarts its
	// CreatedAt) if its owner is still from — the instance a caller found dead — and
	// reports whether it did. Of concurrent callers taking over one key, one succeeds.
	// ENOTFOUND when there is no record; false when it is done or another owns it.
	TakeOverIdempotent(ctx context.Context, rec *IdempotencyRecord, from string) (bool, error)
	// DeleteIdempotent forgets a begun, not done record (the request failed before any
	// effect), so the terminal can retry with the same key. ENOTFOUND when there is
	// none, ECONFLICT when it is done: a done answer is kept for replays.
	DeleteIdempotent(ctx context.Context, terminalID int64, key string) error
	// PurgeIdempotent deletes up to limit records created before before, done or not,
	// oldest first, and returns how many it deleted. The service keeps records for a
	// retention period (a day by default), after which a retry with the same key is a
	// new request — harmless for a payment, whose out_trade_no derives from its key.
	PurgeIdempotent(ctx context.Context, before time.Time, limit int) (int, error)
}

// InstanceStore tells which instances (processes) of the service are alive: each
// records a heartbeat while it runs. Work an instance left unfinished — an idempotency
// key it held — can be taken over as soon as its heartbeat stops, rather than after a
// timeout long enough for the slowest request. Heartbeats need not be durable (see
// Storage): an instance whose last beat a power cut lost is dead anyway.
type InstanceStore interface {
	// BeatInstance records that owner is alive at now, and forgets instances that
	// have not beaten for a day.
	BeatInstance(ctx context.Context, owner string, now time.Time) error
	// InstanceSeen returns owner's last heartbeat; the zero time (and no error) for an
	// instance never seen or long forgotten.
	InstanceSeen(ctx context.Context, owner string) (time.Time, error)
}

// Storage is everything the service persists. Implemented by sqlite.DB and
// postgres.DB; storetest holds the conformance suite both pass.
//
// Durability. A write method returns once its writes are committed and, unless its
// contract says otherwise, durable: on disk, surviving a power cut. The exceptions
// (idempotency records, RecordCall, leases and webhook bookkeeping) need only survive
// the process being killed; a power cut may lose their last writes, never reorder
// them: once a later durable write has returned, the earlier writes are durable too.
// Skipping their flush (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off)
// is what lets a payment wait for two flushes rather than five.
type Storage interface {
	MerchantStore
	AuthorizationStore
	OrderStore
	EventStore
	IdempotencyStore
	InstanceStore
	MemberStore
	SaleStore
	ReconStore
	FundStore
	VendStore
	CabinetStore
	DeviceStore
	DeviceHealthStore
	// Ping reports whether the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}
