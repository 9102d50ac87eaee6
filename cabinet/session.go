package cabinet

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/f2fpay/f2fpay"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// memberAt loads a live member and a cabinet of the member's merchant.
func (s *Service) memberAt(ctx context.Context, memberID, terminalID int64) (*f2fpay.Member, *f2fpay.Terminal, error) {
	m, err := s.store.FindMember(ctx, memberID)
	if err != nil {
		return nil, nil, err
	}
	if !m.ErasedAt.IsZero() {
		return nil, nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "member %d was erased", memberID)
	}
	term, err := s.store.FindTerminal(ctx, terminalID)
	if err != nil {
		return nil, nil, err
	}
	if term.MerchantID != m.MerchantID || term.Disabled {
		return nil, nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "cabinet %d not found", terminalID)
	}
	d, err := s.cfg.Devices.FindDevice(ctx, terminalID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND || (err == nil && d.Machine != f2fpay.MachineCabinet) {
		return nil, nil, refuse(ReasonNotCabinet, 0)
	}
	if err != nil {
		return nil, nil, err
	}
	return m, term, nil
}

// Access is what the member's page shows: the agreement, what is owed, the door.
type Access struct {
	// Agreement is the member's newest agreement with the cabinet's app; nil when none.
	Agreement *f2fpay.Agreement
	// Debts are the sessions CHARGING or in DEBT, newest first; Owed their total.
	Debts []*f2fpay.CabinetSession
	Owed  f2fpay.Amount
	// Open is the member's open session, if any.
	Open *f2fpay.CabinetSession
	// Recent are the member's last sessions, newest first.
	Recent []*f2fpay.CabinetSession
	// Refusal is why the door would not open now; nil when it would.
	Refusal *Refusal
}

// Access tells a member where they stand at a cabinet.
func (s *Service) Access(ctx context.Context, memberID, terminalID int64) (*Access, error) {
	m, term, err := s.memberAt(ctx, memberID, terminalID)
	if err != nil {
		return nil, err
	}
	return s.access(ctx, m, term)
}

func (s *Service) access(ctx context.Context, m *f2fpay.Member, term *f2fpay.Terminal) (*Access, error) {
	ac := &Access{}
	a, err := s.store.LatestAgreement(ctx, m.ID, term.AppID)
	switch {
	case err == nil:
		ac.Agreement = a
	case f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND:
		return nil, err
	}
	recent, err := s.store.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MemberID: m.ID, Limit: 20})
	if err != nil {
		return nil, err
	}
	ac.Recent = recent
	debts, err := s.store.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MemberID: m.ID,
		States: []f2fpay.CabinetSessionState{f2fpay.CabinetCharging, f2fpay.CabinetDebt}, Limit: 100})
	if err != nil {
		return nil, err
	}
	ac.Debts = debts
	for _, d := range debts {
		ac.Owed += d.Amount
	}
	open, err := s.store.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MemberID: m.ID,
		States: []f2fpay.CabinetSessionState{f2fpay.CabinetOpen}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(open) > 0 {
		ac.Open = open[0]
	}
	switch {
	case ac.Agreement == nil:
		ac.Refusal = refuse(ReasonNotSigned, 0)
	case ac.Agreement.State == f2fpay.AgreementPending:
		ac.Refusal = refuse(ReasonPending, 0)
	case ac.Agreement.State == f2fpay.AgreementUnsigned:
		ac.Refusal = refuse(ReasonUnsigned, 0)
	case len(ac.Debts) > 0:
		ac.Refusal = refuse(ReasonDebt, ac.Owed)
	case ac.Open != nil && ac.Open.TerminalID != term.ID:
		ac.Refusal = refuse(ReasonElsewhere, 0)
	}
	return ac, nil
}

// OpenDoorPayload is the open_door command's payload.
type OpenDoorPayload struct {
	SessionID int64 `json:"session_id"`
}

// Open opens the cabinet's door for the member: refused (a *Refusal) when the member
// has not signed, cancelled the agreement, owes money, or has a door open elsewhere,
// or when someone else has this cabinet's door open. The session is recorded before
// the open_door command is enqueued under the key cabinet:{session}:open, so a
// repeated tap — or one after a crash between the two — answers the same session and
// commands the door once.
func (s *Service) Open(ctx context.Context, memberID, terminalID int64) (*f2fpay.CabinetSession, error) {
	m, term, err := s.memberAt(ctx, memberID, terminalID)
	if err != nil {
		return nil, err
	}
	for {
		ac, err := s.access(ctx, m, term)
		if err != nil {
			return nil, err
		}
		if ac.Refusal != nil {
			return nil, ac.Refusal
		}
		sess := ac.Open
		if sess == nil {
			sess = &f2fpay.CabinetSession{MerchantID: m.MerchantID, TerminalID: term.ID, MemberID: m.ID, AppID: term.AppID,
				AgreementID: ac.Agreement.ID}
			if err := s.store.OpenCabinetSession(ctx, sess); err != nil {
				if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
					return nil, err
				}
				// Someone else's door is open here, or this member's own tap raced:
				// look again.
				busy, lerr := s.store.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{TerminalID: term.ID,
					States: []f2fpay.CabinetSessionState{f2fpay.CabinetOpen}, Limit: 1})
				if lerr != nil {
					return nil, lerr
				}
				if len(busy) > 0 && busy[0].MemberID != m.ID {
					return nil, refuse(ReasonBusy, 0)
				}
				continue
			}
			s.cfg.Logger.Info("cabinet door opening", "session_id", sess.ID, "terminal_id", term.ID, "member_id", m.ID)
		}
		return s.commandDoor(ctx, sess)
	}
}

// commandDoor enqueues the session's open_door command (once, by key) and records it.
func (s *Service) commandDoor(ctx context.Context, sess *f2fpay.CabinetSession) (*f2fpay.CabinetSession, error) {
	payload, _ := json.Marshal(OpenDoorPayload{SessionID: sess.ID})
	key := fmt.Sprintf("cabinet:%d:open", sess.ID)
	var c *f2fpay.Command
	var err error
	if s.cfg.Commands != nil {
		c, _, err = s.cfg.Commands.Enqueue(ctx, sess.TerminalID, f2fpay.CommandOpenDoor, key, json.RawMessage(payload), s.cfg.DoorTTL)
	} else {
		now := s.now()
		c, _, err = s.cfg.Devices.EnqueueCommand(ctx, &f2fpay.Command{TerminalID: sess.TerminalID, Kind: f2fpay.CommandOpenDoor,
			Key: key, Payload: payload, State: f2fpay.CommandPending, CreatedAt: now, ExpiresAt: now.Add(s.cfg.DoorTTL)})
	}
	if err != nil {
		return nil, err
	}
	for sess.CommandID != c.ID {
		sess.CommandID = c.ID
		err := s.store.UpdateCabinetSession(ctx, sess)
		if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
			return sess, err
		}
		if sess, err = s.store.FindCabinetSession(ctx, sess.ID); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// Taken is one line of a cabinet's report: a slot and how many units were taken.
type Taken struct {
	Slot  string `json:"slot"`
	Count int    `json:"count"`
}

// Close records the cabinet's report that the door of session closed with taken
// removed, prices it from the planogram, and charges it (once: the first attempt is
// made here, the rest by Run). terminalID is the authenticated cabinet: another
// cabinet's session is ENOTFOUND. The same report again returns the session as it
// stands; another report for a closed session is ECONFLICT. A slot the planogram does
// not have is EINVALID and nothing is charged.
func (s *Service) Close(ctx context.Context, terminalID, sessionID int64, taken []Taken) (*f2fpay.CabinetSession, error) {
	sess, err := s.store.FindCabinetSession(ctx, sessionID)
	if err != nil || sess.TerminalID != terminalID {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "cabinet session %d not found at this cabinet", sessionID)
	}
	if err := checkTaken(taken); err != nil {
		return nil, err
	}
	if sess.State != f2fpay.CabinetOpen && sess.State != f2fpay.CabinetAbandoned {
		if !sameTaken(sess.Items, taken) {
			return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "cabinet session %d was reported closed already with other items; a door is reported closed once", sessionID)
		}
		return sess, nil
	}
	d, err := s.cfg.Devices.FindDevice(ctx, terminalID)
	if err != nil {
		return nil, err
	}
	cl, err := price(d, taken)
	if err != nil {
		return nil, err
	}
	now := s.now()
	cl.OutTradeNo = OutTradeNo(sess.ID, 1)
	cl.NextCheckAt = now.Add(s.cfg.Handover)
	sess, closed, err := s.store.CloseCabinetSession(ctx, sessionID, cl)
	if err != nil {
		return nil, err
	}
	if !closed {
		return sess, nil
	}
	s.cfg.Logger.Info("cabinet door closed", "session_id", sess.ID, "amount", sess.Amount.String(), "items", len(sess.Items),
		"out_trade_no", sess.OutTradeNo)
	for _, it := range sess.Items {
		if err := s.cfg.Devices.TakeStock(ctx, terminalID, it.Slot, it.Count); err != nil {
			s.cfg.Logger.Warn("cabinet stock not lowered; the operator recounts", "slot", it.Slot, "err", err.Error())
		}
	}
	if sess.State != f2fpay.CabinetCharging {
		return sess, nil
	}
	// The report is recorded: whatever happens to the first charge attempt is the
	// retrier's to finish, never a reason to refuse the cabinet's report.
	charged, err := s.step(ctx, sess)
	if err != nil {
		s.cfg.Logger.Warn("cabinet charge left to the retrier", "session_id", sess.ID, "err", err.Error())
		if charged, err = s.store.FindCabinetSession(ctx, sess.ID); err != nil {
			return sess, nil
		}
	}
	return charged, nil
}

// OutTradeNo is the number a session's charges are sent under, generation n.
func OutTradeNo(sessionID int64, n int) string { return fmt.Sprintf("cab%d-%d", sessionID, n) }

func checkTaken(taken []Taken) error {
	if len(taken) > f2fpay.MaxCabinetItems {
		return f2fpay.Errorf(f2fpay.EINVALID, "a report lists at most %d slots", f2fpay.MaxCabinetItems)
	}
	seen := map[string]bool{}
	for _, t := range taken {
		if t.Slot == "" || len(t.Slot) > f2fpay.MaxSlotCodeLen {
			return f2fpay.Errorf(f2fpay.EINVALID, "slot %q is not a slot code", t.Slot)
		}
		if seen[t.Slot] {
			return f2fpay.Errorf(f2fpay.EINVALID, "slot %s is listed twice; give each slot once with its count", t.Slot)
		}
		seen[t.Slot] = true
		if t.Count < 1 || t.Count > f2fpay.MaxCabinetCount {
			return f2fpay.Errorf(f2fpay.EINVALID, "slot %s: count %d must be 1–%d", t.Slot, t.Count, f2fpay.MaxCabinetCount)
		}
	}
	return nil
}

// price turns a report into priced lines, in slot order, from the planogram.
func price(d *f2fpay.Device, taken []Taken) (f2fpay.CabinetClose, error) {
	var cl f2fpay.CabinetClose
	slots := map[string]f2fpay.Slot{}
	for _, sl := range d.Slots {
		slots[sl.Code] = sl
	}
	for _, t := range taken {
		sl, ok := slots[t.Slot]
		if !ok {
			return cl, f2fpay.Errorf(f2fpay.EINVALID, "slot %s is not in this cabinet's planogram; nothing was charged — the operator must add it, or the cabinet report the right slot", t.Slot)
		}
		amt := sl.Price * f2fpay.Amount(t.Count)
		cl.Items = append(cl.Items, f2fpay.CabinetItem{Slot: sl.Code, GoodsID: sl.GoodsID, Name: sl.Name, Price: sl.Price, Count: t.Count, Amount: amt})
		cl.Amount += amt
	}
	sort.Slice(cl.Items, func(i, j int) bool { return cl.Items[i].Slot < cl.Items[j].Slot })
	if err := cl.Amount.CheckTrade(); cl.Amount > 0 && err != nil {
		return cl, f2fpay.Errorf(f2fpay.EINVALID, "the report adds up to %s: %v", cl.Amount, err)
	}
	return cl, nil
}

// sameTaken compares a report with the priced lines a session was closed with.
func sameTaken(items []f2fpay.CabinetItem, taken []Taken) bool {
	if len(items) != len(taken) {
		return false
	}
	got := map[string]int{}
	for _, it := range items {
		got[it.Slot] = it.Count
	}
	for _, t := range taken {
		if got[t.Slot] != t.Count {
			return false
		}
	}
	return true
}
