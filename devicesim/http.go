package devicesim

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

//go:embed page.html index.html
var pages embed.FS

var templates = template.Must(template.ParseFS(pages, "page.html", "index.html"))

// maxActionBody bounds an action's body.
const maxActionBody = 4 << 10

// Handler serves the machines' screens under /sim/: the index /sim/, a machine's page
// /sim/{terminal}, its state as JSON (/state), its QR (/qr.png) and its actions (POST
// /actions, application/json only — a cross-site form cannot send it).
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/{$}", s.index)
	mux.HandleFunc("GET /sim/{terminal}", s.machine(s.page))
	mux.HandleFunc("GET /sim/{terminal}/state", s.machine(s.state))
	mux.HandleFunc("GET /sim/{terminal}/qr.png", s.machine(s.qrImage))
	mux.HandleFunc("POST /sim/{terminal}/actions", s.machine(s.action))
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// lang is the page's language: ?lang=, else the browser's first choice; zh by default.
func lang(r *http.Request) string {
	switch l := r.URL.Query().Get("lang"); l {
	case "zh", "en":
		return l
	}
	al := strings.ToLower(r.Header.Get("Accept-Language"))
	if strings.HasPrefix(al, "en") {
		return "en"
	}
	return "zh"
}

type indexEntry struct {
	ID         int64
	Name, Kind string
}

func (s *Sim) index(w http.ResponseWriter, r *http.Request) {
	var list []indexEntry
	for _, id := range s.order {
		m := s.machines[id]
		list = append(list, indexEntry{ID: id, Name: m.cfg.Name, Kind: string(m.cfg.Kind)})
	}
	render(w, "index.html", map[string]any{"Lang": lang(r), "Machines": list})
}

func render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Sim) machine(h func(http.ResponseWriter, *http.Request, *Machine)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("terminal"), 10, 64)
		m := s.machines[id]
		if err != nil || m == nil {
			http.Error(w, "no such machine / 没有这台机器", http.StatusNotFound)
			return
		}
		h(w, r, m)
	}
}

func (s *Sim) page(w http.ResponseWriter, r *http.Request, m *Machine) {
	render(w, "page.html", map[string]any{"Lang": lang(r), "ID": m.cfg.TerminalID, "Name": m.cfg.Name, "Kind": string(m.cfg.Kind)})
}

// slotView is a slot as the screen shows it.
type slotView struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Price  string `json:"price"`
	Stock  int    `json:"stock"`
	Jammed bool   `json:"jammed"`
	Taken  int    `json:"taken"`
}

// View is the machine's state as the page reads it (GET /sim/{terminal}/state).
type View struct {
	TerminalID int64      `json:"terminal_id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	Online     bool       `json:"online"`
	Screen     string     `json:"screen"`
	Message    LogEntry   `json:"message"`
	Slots      []slotView `json:"slots"`
	WeakLight  bool       `json:"weak_light"`
	QR         bool       `json:"qr"`
	QRVersion  string     `json:"qr_version,omitempty"`
	// QRCode is what the QR says (a sandbox trade's /qr/ link): the page links it so a
	// person without a phone can pay it in the sandbox wallet.
	QRCode    string                 `json:"qr_code,omitempty"`
	Vend      *client.Vend           `json:"vend,omitempty"`
	Door      string                 `json:"door"`
	Session   int64                  `json:"session,omitempty"`
	Cabinet   *client.CabinetSession `json:"cabinet,omitempty"`
	MemberURL string                 `json:"member_url,omitempty"`
	Log       []LogEntry             `json:"log"`
}

// View returns the machine's state.
func (m *Machine) View() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := View{TerminalID: m.cfg.TerminalID, Name: m.cfg.Name, Kind: string(m.cfg.Kind), Online: m.online,
		Screen: m.screen, Message: m.message, WeakLight: m.weakLight, Vend: m.vend, Door: m.door,
		Session: m.session, Cabinet: m.cabinet, MemberURL: m.cfg.MemberURL}
	for _, s := range m.cfg.Slots {
		v.Slots = append(v.Slots, slotView{Code: s.Code, Name: s.Name, Price: s.Price.String(), Stock: s.Stock,
			Jammed: m.jammed[s.Code], Taken: m.taken[s.Code]})
	}
	if m.screen == screenPaying && m.qr != "" {
		v.QR, v.QRCode = true, m.qr
		if m.vend != nil {
			v.QRVersion = strconv.FormatInt(m.vend.ID, 10)
		}
	}
	if m.cfg.Kind == f2fpay.MachineCabinet && m.cfg.MemberURL != "" && m.door != "open" {
		v.QR, v.QRVersion, v.QRCode = true, "member", m.cfg.MemberURL
	}
	n := min(len(m.log), 60)
	v.Log = make([]LogEntry, 0, n)
	for i := len(m.log) - 1; i >= len(m.log)-n; i-- {
		v.Log = append(v.Log, m.log[i])
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Sim) state(w http.ResponseWriter, r *http.Request, m *Machine) {
	writeJSON(w, http.StatusOK, m.View())
}

func (s *Sim) qrImage(w http.ResponseWriter, r *http.Request, m *Machine) {
	m.mu.Lock()
	content := m.qr
	if m.screen != screenPaying {
		content = ""
	}
	if content == "" && m.cfg.Kind == f2fpay.MachineCabinet {
		content = m.cfg.MemberURL
	}
	m.mu.Unlock()
	if content == "" {
		http.Error(w, "no QR on the screen", http.StatusNotFound)
		return
	}
	img, err := qrPNG(content)
	if err != nil {
		http.Error(w, "qr: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(img)
}

// ParseAction reads an action's JSON body: one object, known fields only, bounded.
func ParseAction(body []byte) (Action, error) {
	var a Action
	if len(body) > maxActionBody {
		return a, errors.New("the action is too large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, errors.New("the action is not a JSON object of kind, slots, slot, on")
	}
	if dec.More() {
		return a, errors.New("one JSON object only")
	}
	if len(a.Slots) > maxBuy || len(a.Slot) > f2fpay.MaxSlotCodeLen {
		return a, errors.New("too many slots, or a slot code too long")
	}
	return a, nil
}

func (s *Sim) action(w http.ResponseWriter, r *http.Request, m *Machine) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"zh": "请求须为 JSON", "en": "send application/json"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxActionBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"zh": "请求读取失败", "en": err.Error()})
		return
	}
	a, err := ParseAction(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"zh": "请求无效", "en": err.Error()})
		return
	}
	ctx, cancel := contextWithTimeout(r, 30*time.Second)
	defer cancel()
	if err := m.Do(ctx, a); err != nil {
		var ue *userError
		if errors.As(err, &ue) {
			writeJSON(w, http.StatusConflict, map[string]string{"zh": ue.zh, "en": ue.en})
			return
		}
		writeJSON(w, http.StatusBadGateway, map[string]string{"zh": "出错了", "en": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, m.View())
}

// qrMargin and qrScale: a quiet zone of 4 modules, 6 pixels a module.
const (
	qrMargin = 4
	qrScale  = 6
)

// qrPNG renders content as a QR code (error correction M), black on white.
func qrPNG(content string) ([]byte, error) {
	bc, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	b := bc.Bounds()
	n := b.Dx()
	side := (n + 2*qrMargin) * qrScale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range n {
		for x := range n {
			if c := color.GrayModel.Convert(bc.At(b.Min.X+x, b.Min.Y+y)).(color.Gray); c.Y >= 0x80 {
				continue
			}
			for dy := range qrScale {
				for dx := range qrScale {
					img.SetGray((qrMargin+x)*qrScale+dx, (qrMargin+y)*qrScale+dy, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
