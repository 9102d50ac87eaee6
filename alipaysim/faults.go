package alipaysim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Fault kinds. Gateway faults act on a call; notify faults act on the notifications a
// state change produces.
const (
	FaultLatency       = "latency"        // wait Latency before answering
	FaultSystemError   = "system_error"   // 20000 ACQ.SYSTEM_ERROR; nothing happens
	FaultHTTP502       = "http_502"       // HTTP 502 from a "proxy"; nothing happens
	FaultDropResponse  = "drop_response"  // the call commits, then the connection closes unanswered
	FaultBadSignature  = "bad_signature"  // the call commits, the response's sign is wrong
	FaultMalformedJSON = "malformed_json" // the call commits, the response body is cut short
	FaultSlowAnswer    = "slow_answer"    // the call commits, then its answer waits Latency (a caller that dies meanwhile never gets it)
	FaultPayPending    = "pay_pending"    // trade.pay answers 10003, resolves to ResolveTo after Delay
	FaultCancelRetry   = "cancel_retry"   // trade.cancel fails with retry_flag=Y; nothing happens
	FaultPayRefused    = "pay_refused"    // trade.pay answers 40004 with SubCode (e.g. ACQ.PRODUCT_AMOUNT_LIMIT_ERROR); nothing happens
	FaultNotifyDup     = "notify_duplicate"
	FaultNotifyReorder = "notify_reorder" // held back until the trade's next notification has gone
	FaultNotifyDelay   = "notify_delay"   // first attempt Delay later
	FaultNotifyDrop    = "notify_drop"    // never sent
)

var faultKinds = []string{FaultLatency, FaultSystemError, FaultHTTP502, FaultDropResponse, FaultBadSignature,
	FaultMalformedJSON, FaultSlowAnswer, FaultPayPending, FaultCancelRetry, FaultPayRefused, FaultNotifyDup, FaultNotifyReorder, FaultNotifyDelay, FaultNotifyDrop,
	FaultBillMissingRow, FaultBillChangedAmount, FaultBillExtraTrade, FaultBillChangedDisc, FaultBillChangedFee,
	FaultBillUnpaidTrade, FaultBillMissingRefund, FaultBillExtraRefund, FaultBillDuplicateRow,
	FaultFaceWeakLight, FaultFaceNotRecognised, FaultFaceCancelled}

// Fault is a scripted failure. Scope fields that are set must all match; Count limits it
// to the next N matching calls (0: until deleted); Probability (0 < p < 1) applies it to
// that share of matching calls, drawn from the sandbox's seeded generator so a run
// replays exactly.
type Fault struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Method      string   `json:"method,omitempty"`
	AppID       string   `json:"app_id,omitempty"`
	OutTradeNo  string   `json:"out_trade_no,omitempty"`
	Count       int      `json:"count,omitempty"`
	Probability float64  `json:"probability,omitempty"`
	Latency     Duration `json:"latency,omitempty"`
	Delay       Duration `json:"delay,omitempty"`
	ResolveTo   string   `json:"resolve_to,omitempty"` // pay_pending: "paid" (default) or "closed"
	SubCode     string   `json:"sub_code,omitempty"`   // pay_refused: the ACQ.* sub_code to answer
	Hits        int      `json:"hits"`
}

// Duration is a time.Duration written as "250ms", "4m" or "1h30m" in JSON.
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string, or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		ms, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return errors.New(`durations are strings such as "250ms", "4m", "2h" (or a number of milliseconds)`)
		}
		*d = Duration(time.Duration(ms) * time.Millisecond)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: write e.g. \"250ms\", \"4m\", \"2h\"", s)
	}
	*d = Duration(v)
	return nil
}

func (f *Fault) check() error {
	if !slices.Contains(faultKinds, f.Kind) {
		return f2fpay.Errorf(f2fpay.EINVALID, "unknown fault kind %q; one of %v", f.Kind, faultKinds)
	}
	if f.Count < 0 || f.Probability < 0 || f.Probability > 1 || f.Latency < 0 || f.Delay < 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "count, probability (0–1), latency and delay must not be negative")
	}
	if (f.Kind == FaultLatency || f.Kind == FaultSlowAnswer) && f.Latency <= 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "a %s fault needs latency, e.g. \"2s\"", f.Kind)
	}
	if f.Latency > Duration(10*time.Minute) {
		return f2fpay.Errorf(f2fpay.EINVALID, "latency is capped at 10m")
	}
	switch f.Kind {
	case FaultPayPending:
		if f.Method != "" && f.Method != "alipay.trade.pay" {
			return f2fpay.Errorf(f2fpay.EINVALID, "pay_pending applies to alipay.trade.pay only")
		}
		f.Method = "alipay.trade.pay"
		if f.ResolveTo == "" {
			f.ResolveTo = "paid"
		}
		if f.ResolveTo != "paid" && f.ResolveTo != "closed" {
			return f2fpay.Errorf(f2fpay.EINVALID, "resolve_to is \"paid\" or \"closed\"")
		}
		if f.Delay == 0 {
			f.Delay = Duration(30 * time.Second)
		}
	case FaultPayRefused:
		if f.Method != "" && f.Method != "alipay.trade.pay" {
			return f2fpay.Errorf(f2fpay.EINVALID, "pay_refused applies to alipay.trade.pay only")
		}
		f.Method = "alipay.trade.pay"
		if !strings.HasPrefix(f.SubCode, "ACQ.") || len(f.SubCode) > 64 {
			return f2fpay.Errorf(f2fpay.EINVALID, "a pay_refused fault needs sub_code, an ACQ.* code such as ACQ.PRODUCT_AMOUNT_LIMIT_ERROR")
		}
	case FaultCancelRetry:
		if f.Method != "" && f.Method != "alipay.trade.cancel" {
			return f2fpay.Errorf(f2fpay.EINVALID, "cancel_retry applies to alipay.trade.cancel only")
		}
		f.Method = "alipay.trade.cancel"
	case FaultFaceWeakLight, FaultFaceNotRecognised, FaultFaceCancelled:
		if f.Method != "" && f.Method != faceVerifyMethod {
			return f2fpay.Errorf(f2fpay.EINVALID, "%s applies to the face scan (POST /sandbox/face/verify) only", f.Kind)
		}
		f.Method = faceVerifyMethod
	case FaultNotifyReorder:
		if f.Delay == 0 {
			f.Delay = Duration(10 * time.Minute) // sent anyway if no later notification comes
		}
	case FaultNotifyDelay:
		if f.Delay == 0 {
			return f2fpay.Errorf(f2fpay.EINVALID, "a notify_delay fault needs delay, e.g. \"5m\"")
		}
	}
	return nil
}

func (f *Fault) isNotify() bool {
	switch f.Kind {
	case FaultNotifyDup, FaultNotifyReorder, FaultNotifyDelay, FaultNotifyDrop:
		return true
	}
	return false
}

// faultSet holds the active faults. Faults are test scripting, not sandbox state: they
// are not persisted.
type faultSet struct {
	mu     sync.Mutex
	rng    *rand.Rand
	seq    int
	faults []*Fault
	held   map[string]string // trade_no → notify_id held back by notify_reorder
}

func newFaultSet(seed uint64) *faultSet {
	return &faultSet{rng: rand.New(rand.NewPCG(seed, 0x6661756c74)), held: map[string]string{}}
}

func (s *faultSet) add(f Fault) (*Fault, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f.ID = "f" + strconv.Itoa(s.seq)
	f.Hits = 0
	s.faults = append(s.faults, &f)
	c := f
	return &c, nil
}

func (s *faultSet) list() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// remove deletes one fault by id, or all when id is "".
func (s *faultSet) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		s.faults = nil
		return true
	}
	n := len(s.faults)
	s.faults = slices.DeleteFunc(s.faults, func(f *Fault) bool { return f.ID == id })
	return len(s.faults) != n
}

// take returns the faults that fire for this call and consumes them: every matching
// latency fault, and at most one fault of another kind (the oldest that fires), whose
// kind is accepted by want.
// takeBill is take for the bill faults of a bill URL query: a bill fault's OutTradeNo
// names the rows it acts on (BillLink.FaultTarget), not the query, which has none.
func (s *faultSet) takeBill(method, appID string) (latency time.Duration, effect *Fault) {
	s.mu.Lock()
	var target string
	for _, f := range s.faults {
		if strings.HasPrefix(f.Kind, "bill_") && (f.AppID == "" || f.AppID == appID) && (f.Method == "" || f.Method == method) {
			target = f.OutTradeNo
			break
		}
	}
	s.mu.Unlock()
	return s.take(method, appID, target, func(k string) bool { return strings.HasPrefix(k, "bill_") })
}

func (s *faultSet) take(method, appID, outTradeNo string, want func(kind string) bool) (latency time.Duration, effect *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return 0, nil
	}
	kept := s.faults[:0]
	for _, f := range s.faults {
		fire := false
		if (f.Method == "" || f.Method == method) && (f.AppID == "" || f.AppID == appID) &&
			(f.OutTradeNo == "" || f.OutTradeNo == outTradeNo) && want(f.Kind) &&
			(f.Kind == FaultLatency || effect == nil) {
			fire = f.Probability == 0 || f.Probability >= 1 || s.rng.Float64() < f.Probability
		}
		if fire {
			f.Hits++
			if f.Kind == FaultLatency {
				latency += f.Latency.D()
			} else {
				c := *f
				effect = &c
			}
		}
		if !fire || f.Count == 0 || f.Hits < f.Count {
			kept = append(kept, f)
		}
	}
	clear(s.faults[len(kept):])
	s.faults = kept
	return latency, effect
}
