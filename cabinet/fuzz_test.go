package cabinet

import (
	"encoding/json"
	"testing"

	"github.com/f2fpay/f2fpay"
)

// FuzzReport: whatever a cabinet reports, a report that passes checkTaken is priced to
// lines that add up to the amount, each line's amount its price times its count, and
// only slots of the planogram; anything else is refused with EINVALID.
func FuzzReport(f *testing.F) {
	f.Add([]byte(`[{"slot":"A1","count":2},{"slot":"B1","count":1}]`))
	f.Add([]byte(`[{"slot":"A1","count":0}]`))
	f.Add([]byte(`[{"slot":"Z9","count":1}]`))
	f.Add([]byte(`[{"slot":"A1","count":99},{"slot":"A1","count":1}]`))
	d := &f2fpay.Device{Machine: f2fpay.MachineCabinet, Slots: []f2fpay.Slot{
		{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 300}, {Code: "B1", GoodsID: "big", Name: "大件", Price: f2fpay.MaxAmount / 10},
	}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var taken []Taken
		if json.Unmarshal(body, &taken) != nil {
			return
		}
		if err := checkTaken(taken); err != nil {
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID {
				t.Fatalf("checkTaken: %v", err)
			}
			return
		}
		cl, err := price(d, taken)
		if err != nil {
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID {
				t.Fatalf("price: %v", err)
			}
			return
		}
		var sum f2fpay.Amount
		for _, it := range cl.Items {
			if d.Slot(it.Slot) == nil || it.Amount != it.Price*f2fpay.Amount(it.Count) || it.Count < 1 {
				t.Fatalf("line %+v", it)
			}
			sum += it.Amount
		}
		if sum != cl.Amount || cl.Amount < 0 || cl.Amount > f2fpay.MaxAmount || !sameTaken(cl.Items, taken) {
			t.Fatalf("priced %+v from %+v", cl, taken)
		}
	})
}
