package devicesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// wire is the part of the machine's side of the terminal API that package client does
// not offer yet: the device channel (docs/vending.md §10) and heartbeats (§5),
// authenticated with the terminal's key, which stays in this process and
// never reaches the browser. The calls are plain HTTP with package client's Bearer key
// and Idempotency-Key conventions; vend orders and the cabinet's door-close report go
// through client.Client.
type wire struct {
	base string
	auth string
	hc   *http.Client
}

// apiError is the service's error answer.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// maxAnswer bounds what the simulator reads of one answer.
const maxAnswer = 1 << 20

func (w *wire) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.auth)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", client.NewIdempotencyKey())
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{Status: resp.StatusCode}
		var env struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(data, &env) == nil && env.Error != nil {
			e.Code, e.Message = env.Error.Code, env.Error.Message
		} else if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// heartbeat reports the machine's health (docs/vending.md §5), f2fpay.Heartbeat as
// the device channel's POST /v1/device/heartbeat takes it.
func (w *wire) heartbeat(ctx context.Context, h f2fpay.Heartbeat) error {
	return w.call(ctx, http.MethodPost, "/v1/device/heartbeat", h, nil)
}
