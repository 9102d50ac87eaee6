package f2fpay

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDeviceValidate(t *testing.T) {
	ok := Slot{Code: "A1", GoodsID: "cola-330", Name: "可乐", Price: 350, Stock: 3}
	for _, tc := range []struct {
		name string
		d    Device
		want string // "" for valid
	}{
		{"valid", Device{Machine: MachineOrdinary, Slots: []Slot{ok}}, ""},
		{"no slots", Device{Machine: MachineCabinet}, ""},
		{"unknown machine", Device{Machine: "robot"}, "machine"},
		{"duplicate", Device{Machine: MachineFace, Slots: []Slot{ok, ok}}, "both have code"},
		{"price 0", Device{Machine: MachineFace, Slots: []Slot{{Code: "A1", GoodsID: "g", Name: "n"}}}, "price"},
		{"price over", Device{Machine: MachineFace, Slots: []Slot{{Code: "A1", GoodsID: "g", Name: "n", Price: MaxAmount + 1}}}, "price"},
		{"stock", Device{Machine: MachineFace, Slots: []Slot{{Code: "A1", GoodsID: "g", Name: "n", Price: 1, Stock: MaxSlotStock + 1}}}, "stock"},
		{"no name", Device{Machine: MachineFace, Slots: []Slot{{Code: "A1", GoodsID: "g", Price: 1}}}, "name"},
		{"long goods id", Device{Machine: MachineFace, Slots: []Slot{{Code: "A1", GoodsID: strings.Repeat("g", MaxGoodsIDLen+1), Name: "n", Price: 1}}}, "goods_id"},
		{"site control", Device{Machine: MachineFace, Site: "a\nb"}, "site"},
	} {
		err := tc.d.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want EINVALID saying %q", tc.name, err, tc.want)
		}
	}
}

func TestCommandValidate(t *testing.T) {
	at := time.Now()
	for _, tc := range []struct {
		c    Command
		want bool
	}{
		{Command{Kind: CommandDispense, Key: "vend:42:item:1", Payload: json.RawMessage(`{"slot":"A1"}`), ExpiresAt: at}, true},
		{Command{Kind: CommandCancel, Key: "c", ExpiresAt: at}, true},
		{Command{Kind: "x", Key: "c", ExpiresAt: at}, false},
		{Command{Kind: CommandCancel, Key: "c/d", ExpiresAt: at}, false},
		{Command{Kind: CommandCancel, Key: "c"}, false},
		{Command{Kind: CommandCancel, Key: "c", Payload: json.RawMessage(`null`), ExpiresAt: at}, false},
		{Command{Kind: CommandCancel, Key: "c", Payload: json.RawMessage(`{`), ExpiresAt: at}, false},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.want {
			t.Errorf("%+v: %v", tc.c, err)
		}
	}
}

// FuzzCheckJSONObject: whatever a machine sends as a result, the check does not panic,
// and what it accepts is a JSON object within the bound.
func FuzzCheckJSONObject(f *testing.F) {
	f.Add([]byte(`{"ok":true}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if CheckJSONObject("result", b) == nil && len(b) > 0 {
			var m map[string]any
			if len(b) > MaxCommandPayload || json.Unmarshal(b, &m) != nil || m == nil {
				t.Fatalf("accepted %q", b)
			}
		}
	})
}
