package alipay

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Dummy signatures of the SDK extractor tests (they are never verified there either).
const (
	javaDummySign = "TS355N0QjK1r9GyD4YOsG5esszSUhESgwu1q5+e1sWwqtPYe30CQ3v0QTEDdxYN9vm2No8V1KzuTSadrA4SZSkEkRchrcdVHCU8rCXOHWzS5wof8jg5S75y481kj3HqlpTaz/EhvAXK8iC8Xz9CgPmvfLmAUNkxy0q05yV2wZAGNX0WElUOx1Lcd2FqeuRFMvBOq5TQ+SVqunfUMLic8rYsW+smDHzIgjRcde8pHOZBMvmqDDzmyBLEgSbBswgHifQPDrhnGPlpk2U/nb8Sx7G8mWHEibtb8ClENcxtJEwcI0NN+erWO4Le+jFVUOU0BqC4dxGBNX9AHCTZMEhfcZQ=="
	nodeDummySign = "P8xrBWqZCUv11UrEBjhQ4Sk3hyj4607qehO2VbKIS0hWa4U+NeLlOftqTyhGv+x1lzfqN590Y/8CaNIzEEg06FiNWJlUFM/uEFJLzSKGse4MjHbblpiSzI3eCV5RzxH26wZbEd9wyVYYi0pHFBf35UrBva47g7b5EuKCHfoVA95/zin9fAyb3xhhiHhmfGaWIDV/1LmE2vtqtOHQnISbY/deC71U614ySZ3YB97ws8npCcCJ+tgZvhHPkMRGvmyYPCRDB/aIN/sKDSLtfPp0u8DxE8pHLvCHm3wR84MQxqNbKgpd8NTKNvH+obELsbCrqPhjW7qI48634qx6enDupw=="
)

// TestEnvelopeExtraction runs the signed-content extraction cases of the Java SDK
// (AlipaySignatureTest: brace matching with braces, quotes and escapes inside keys and
// values, white space, an encrypted node) and of the Node SDK (getSignStr: white space and
// new lines, "\/" escapes, a "sign" key inside the node). Bodies and expected contents are
// theirs, transcribed from the Java/TypeScript string literals; SIGN stands for the dummy
// signature.
//
// Where we differ by design: the SDKs search the body text for the node name (Java: first
// occurrence, Node: first occurrence up to the last "sign"), we scan the JSON and only look
// at top-level keys. See TestEnvelopeStructuralNotTextual for the cases where that matters.
func TestEnvelopeExtraction(t *testing.T) {
	const java = "alipay.trade.create"
	const node = "alipay.offline.material.image.upload"
	const nodeImage = `{"code":"10000","msg":"Success","image_id":"Zp1Nm6FDTZaEuSSniGd5awAAACMAAQED","image_url":"http:\/\/oalipay-dl-django.alicdn.com\/rest\/1.0\/image?fileIds=Zp1Nm6FDTZaEuSSniGd5awAAACMAAQED&zoom=original"}`
	for _, tc := range []struct {
		name, method, body, content, sign string
	}{
		{
			name: "java normal json", method: java,
			body:    `{"alipay_trade_create_response":{"code":"10000","msg":"Success","out_trade_no":"20150320010101001","trade_no":"2019062322001446881000041395"},"sign":"SIGN"}`,
			content: `{"code":"10000","msg":"Success","out_trade_no":"20150320010101001","trade_no":"2019062322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java nested object", method: java,
			body:    `{"alipay_trade_create_response":{"code":"10000","msg":"Success","nested":{"a":1,"b":"2"},"out_trade_no":"20150320010101001","trade_no":"2019062322001446881000041395"},"sign":"SIGN"}`,
			content: `{"code":"10000","msg":"Success","nested":{"a":1,"b":"2"},"out_trade_no":"20150320010101001","trade_no":"2019062322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java nested array", method: java,
			body:    `{"alipay_trade_create_response":{"code":"10000","msg":"Success","nested":{"a":1,"b":"2","array":["1","2","3"]},"out_trade_no":"20150320010101001","trade_no":"2019062322001446881000041395"},"sign":"SIGN"}`,
			content: `{"code":"10000","msg":"Success","nested":{"a":1,"b":"2","array":["1","2","3"]},"out_trade_no":"20150320010101001","trade_no":"2019062322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java paired braces in value", method: java,
			body:    `{"alipay_trade_create_response":{"code":"10000","msg":"Success","nested":{"a":1,"b":"2","array":["1","2","3"]},"out_trade_no":"201{5}0320010101001{}","trade_no":"2019062322001446881000041395"},"sign":"SIGN"}`,
			content: `{"code":"10000","msg":"Success","nested":{"a":1,"b":"2","array":["1","2","3"]},"out_trade_no":"201{5}0320010101001{}","trade_no":"2019062322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java paired braces in key", method: java,
			body:    `{"alipay_trade_create_response":{"code":"10000","msg":"Success","nested":{"a":1,"b":"2","array":["1","2","3"]},"out_{trade}_{no}":"201{5}0320010101001{}","trade_no":"2019062322001446881000041395"},"sign":"SIGN"}`,
			content: `{"code":"10000","msg":"Success","nested":{"a":1,"b":"2","array":["1","2","3"]},"out_{trade}_{no}":"201{5}0320010101001{}","trade_no":"2019062322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java unpaired brace in value", method: java,
			body:    `{"alipay_trade_create_response":{"code":"100}00","msg":"Suc}cess","nested":{"a":1,"b":"2","array":["{1","2","3"]},"out_{trade}_{no}":"201{5}0320010101001{}","trade_no":"2019062{322001446881000041395"},"sign":"SIGN"}`,
			content: `{"code":"100}00","msg":"Suc}cess","nested":{"a":1,"b":"2","array":["{1","2","3"]},"out_{trade}_{no}":"201{5}0320010101001{}","trade_no":"2019062{322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java unpaired brace in key", method: java,
			body:    `{"alipay_trade_create_response":{"co{de":"100}00","ms}g":"Suc}cess","ne{sted":{"a":1,"b":"2","array":["{1","2","3"]},"{out_{trade}_{no}":"201{5}0320010101001{}","trade_no}":"2019062{322001446881000041395"},"sign":"SIGN"}`,
			content: `{"co{de":"100}00","ms}g":"Suc}cess","ne{sted":{"a":1,"b":"2","array":["{1","2","3"]},"{out_{trade}_{no}":"201{5}0320010101001{}","trade_no}":"2019062{322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java unpaired brace and escaped quote", method: java,
			body:    `{"alipay_trade_create_response":{"co{de":"100}00","ms}g":"Suc\"}cess","ne{sted":{"a":1,"b":"2","array":["\"{1","2","3"]},"{out_{trade}_{no}":"201{5\"}0320010101001{}","trade_no}":"20\"19062{322001446881000041395"},"sign":"SIGN"}`,
			content: `{"co{de":"100}00","ms}g":"Suc\"}cess","ne{sted":{"a":1,"b":"2","array":["\"{1","2","3"]},"{out_{trade}_{no}":"201{5\"}0320010101001{}","trade_no}":"20\"19062{322001446881000041395"}`,
			sign:    javaDummySign,
		},
		{
			name: "java even run of backslashes before a quote, white space", method: java,
			body:    `{"alipay_trade_create_response":{"code":"10000\\",         "msg": "Success",         "\\out_trade_no\\": "\\\\20150320010101001\\\\",         "trade_no": "2019062322001446881000041395"     },     "sign": "SIGN" }`,
			content: `{"code":"10000\\",         "msg": "Success",         "\\out_trade_no\\": "\\\\20150320010101001\\\\",         "trade_no": "2019062322001446881000041395"     }`,
			sign:    javaDummySign,
		},
		{
			// With AES content encryption the node is a JSON string; its quotes are signed.
			name: "java encrypted node", method: java,
			body:    `{"alipay_trade_create_response":"eyJjb2RlIjoiMTAwMDAiLCJtc2ciOiJTdWNjZXNzIiwib3V0X3RyYWRlX25vIjoiMjAxNTAzMjAwMTAxMDEwMDEiLCJ0cmFkZV9ubyI6IjIwMTkwNjIzMjIwMDE0NDY4ODEwMDAwNDEzOTUifQ==","sign":"SIGN"}`,
			content: `"eyJjb2RlIjoiMTAwMDAiLCJtc2ciOiJTdWNjZXNzIiwib3V0X3RyYWRlX25vIjoiMjAxNTAzMjAwMTAxMDEwMDEiLCJ0cmFkZV9ubyI6IjIwMTkwNjIzMjIwMDE0NDY4ODEwMDAwNDEzOTUifQ=="`,
			sign:    javaDummySign,
		},
		{
			name: "java encrypted node with blank space", method: java,
			body:    `{"alipay_trade_create_response"      :      "eyJjb2RlIjoiMTAwMDAiLCJtc2ciOiJTdWNjZXNzIiwib3V0X3RyYWRlX25vIjoiMjAxNTAzMjAwMTAxMDEwMDEiLCJ0cmFkZV9ubyI6IjIwMTkwNjIzMjIwMDE0NDY4ODEwMDAwNDEzOTUifQ==","sign":"SIGN"}`,
			content: `"eyJjb2RlIjoiMTAwMDAiLCJtc2ciOiJTdWNjZXNzIiwib3V0X3RyYWRlX25vIjoiMjAxNTAzMjAwMTAxMDEwMDEiLCJ0cmFkZV9ubyI6IjIwMTkwNjIzMjIwMDE0NDY4ODEwMDAwNDEzOTUifQ=="`,
			sign:    javaDummySign,
		},
		{
			// "\/" stays as sent: those exact bytes are what was signed.
			name: "node normal, slashes escaped", method: node,
			body:    `{"alipay_offline_material_image_upload_response":` + nodeImage + `,"sign":"SIGN"}`,
			content: nodeImage,
			sign:    nodeDummySign,
		},
		{
			name: "node new lines and spaces", method: node,
			body:    "{\"alipay_offline_material_image_upload_response\"\n        :\n        " + nodeImage + ",\n\n          \"sign\"  :  \"SIGN\"}",
			content: nodeImage,
			sign:    nodeDummySign,
		},
		{
			// A "sign" key inside the node belongs to the node; the envelope's sign is the
			// top-level one.
			name: "node sign key inside the node", method: node,
			body:    "{\"alipay_offline_material_image_upload_response\"\n        :\n        " + strings.Replace(nodeImage, `"code":"10000",`, `"code":"10000","sign":"xxx",`, 1) + ",\n\n          \"sign\"  :  \"SIGN\"}",
			content: strings.Replace(nodeImage, `"code":"10000",`, `"code":"10000","sign":"xxx",`, 1),
			sign:    nodeDummySign,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(strings.Replace(tc.body, "SIGN", tc.sign, 1))
			env, err := ParseEnvelope(body, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			if string(env.Content) != tc.content {
				t.Errorf("Content =\n%s\nwant\n%s", env.Content, tc.content)
			}
			if env.Sign != tc.sign {
				t.Errorf("Sign = %q, want %q", env.Sign, tc.sign)
			}
			if !sameBacking(body, env.Content) {
				t.Error("Content is not a sub-slice of the body")
			}
			if env.Node != ResponseNode(tc.method) {
				t.Errorf("Node = %q", env.Node)
			}
		})
	}
}

// TestEnvelopeStructuralNotTextual covers where a JSON scanner and the SDKs' text search
// part ways. The gateway's real layout ({"<node>":{...},"sign":"..."}) gives the same
// answer under both; these bodies show why the scanner is the safe choice.
func TestEnvelopeStructuralNotTextual(t *testing.T) {
	const node = `{"code":"10000","msg":"Success","body":"see \"alipay_trade_pay_response\":{\"code\":\"10000\"},\"sign\":\"x\""}`
	for _, tc := range []struct {
		name, body, content, sign string
	}{
		{
			// Java would start at the first textual occurrence (inside the string value of
			// "note") and then throw "duplicate node"; we read keys, so the node is found.
			name:    "node name quoted inside an earlier value",
			body:    `{"note":"\"alipay_trade_pay_response\":{}","alipay_trade_pay_response":{"code":"10000"},"sign":"S"}`,
			content: `{"code":"10000"}`, sign: "S",
		},
		{
			// Node cuts at the last "sign" text, PHP/gopay at the first ,"sign": text; both
			// would mis-slice when a value inside the node spells that text.
			name:    "sign key spelled inside a node value",
			body:    `{"alipay_trade_pay_response":` + node + `,"sign":"S"}`,
			content: node, sign: "S",
		},
		{
			// gopay/PHP need the node first; a JSON scanner does not care.
			name:    "sign before the node",
			body:    `{"sign":"S","alipay_cert_sn":"abc","alipay_trade_pay_response":{"code":"10000"}}`,
			content: `{"code":"10000"}`, sign: "S",
		},
		{
			// The method node wins over error_response whatever the order.
			name:    "error_response and method node",
			body:    `{"error_response":{"code":"40002"},"alipay_trade_pay_response":{"code":"10000"},"sign":"S"}`,
			content: `{"code":"10000"}`, sign: "S",
		},
		{
			name:    "error_response fallback",
			body:    `{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"},"sign":"S"}`,
			content: `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}`, sign: "S",
		},
		{
			// Unsigned bodies parse (Sign ""); refusing them is VerifySignature's job, so the
			// caller can still read a gateway error's code when it decides to.
			name:    "no sign",
			body:    `{"alipay_trade_pay_response":{"code":"40004"}}`,
			content: `{"code":"40004"}`, sign: "",
		},
		{
			name:    "sign with JSON escapes is decoded",
			body:    `{"alipay_trade_pay_response":{},"sign":"ab\/cd\u003d"}`,
			content: `{}`, sign: "ab/cd=",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.body), "alipay.trade.pay")
			if err != nil {
				t.Fatal(err)
			}
			if string(env.Content) != tc.content || env.Sign != tc.sign {
				t.Errorf("Content %s Sign %q\nwant    %s Sign %q", env.Content, env.Sign, tc.content, tc.sign)
			}
		})
	}
}

// TestEnvelopeErrors: every malformed body gets ErrMalformedResponse with a message that
// says what was wrong, and where.
func TestEnvelopeErrors(t *testing.T) {
	const ok = `{"alipay_trade_pay_response":{"code":"10000","msg":"Success"},"sign":"c2ln"}`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty body", ``, "not a JSON object at end of body"},
		{"white space only", " \n", "not a JSON object at end of body"},
		{"HTML error page", `<html><body>502 Bad Gateway</body></html>`, "not a JSON object at byte 0"},
		{"JSON array", `[{"alipay_trade_pay_response":{}}]`, "not a JSON object"},
		{"empty object", `{}`, "empty JSON object"},
		{"truncated after node", ok[:60], "truncated"},
		{"truncated inside a string", ok[:40], "unterminated string"},
		{"truncated before the closing brace", ok[:len(ok)-1], "expected ',' or '}' at end of body (truncated?)"},
		{"trailing garbage", ok + "x", "unexpected data after the JSON object at byte 76"},
		{"second object", ok + ok, "unexpected data after the JSON object"},
		{"answers another method", `{"alipay_trade_query_response":{"code":"10000"},"sign":"c2ln"}`, "expected alipay_trade_pay_response but the body holds alipay_trade_query_response"},
		{"node twice", `{"alipay_trade_pay_response":{"code":"10000"},"alipay_trade_pay_response":{"code":"40004"},"sign":"c2ln"}`, "node alipay_trade_pay_response appears twice"},
		{"node twice, escaped spelling", `{"alipay_trade_pay_response":{"code":"10000"},"alipay_trade_pay_respons\u0065":{"code":"40004"},"sign":"c2ln"}`, "appears twice"},
		{"error_response twice", `{"error_response":{},"error_response":{},"sign":"c2ln"}`, "error_response appears twice"},
		{"sign twice", `{"alipay_trade_pay_response":{},"sign":"c2ln","sign":"eA=="}`, "sign appears twice"},
		{"alipay_cert_sn twice", `{"alipay_trade_pay_response":{},"alipay_cert_sn":"a","alipay_cert_sn":"b","sign":"c2ln"}`, "alipay_cert_sn appears twice"},
		{"no node", `{"sign":"c2ln"}`, "no alipay_trade_pay_response node"},
		{"node is an array", `{"alipay_trade_pay_response":[],"sign":"c2ln"}`, "alipay_trade_pay_response is not an object"},
		{"node is null", `{"alipay_trade_pay_response":null,"sign":"c2ln"}`, "is not an object"},
		{"node is a number", `{"alipay_trade_pay_response":10000,"sign":"c2ln"}`, "is not an object"},
		{"sign is a number", `{"alipay_trade_pay_response":{},"sign":123}`, "sign is not a string"},
		{"sign is null", `{"alipay_trade_pay_response":{},"sign":null}`, "sign is not a string"},
		{"cert sn is an object", `{"alipay_trade_pay_response":{},"alipay_cert_sn":{},"sign":"c2ln"}`, "alipay_cert_sn is not a string"},
		{"unquoted key", `{alipay_trade_pay_response:{}}`, "expected a string at byte 1"},
		{"missing colon", `{"alipay_trade_pay_response" {}}`, "expected ':' after key"},
		{"missing comma", `{"alipay_trade_pay_response":{} "sign":"c2ln"}`, "expected ',' or '}'"},
		{"trailing comma", `{"alipay_trade_pay_response":{},}`, "expected a string"},
		{"trailing comma in node", `{"alipay_trade_pay_response":{"a":1,}}`, "expected a string"},
		{"raw control character", "{\"alipay_trade_pay_response\":{\"a\":\"x\ty\"}}", "control character in string"},
		{"bad literal", `{"alipay_trade_pay_response":{"a":tru}}`, "bad literal"},
		{"bad escape in node", `{"alipay_trade_pay_response":{"a":"\x"}}`, "bad escape"},
		{"short unicode escape", `{"alipay_trade_pay_response":{"a":"\u12"}}`, "bad escape"},
		{"bad escape in key", `{"alipay_trade_pay_response\q":{}}`, "bad escape"},
		{"leading zero", `{"alipay_trade_pay_response":{"a":01}}`, "bad number"},
		{"bare minus", `{"alipay_trade_pay_response":{"a":-}}`, "bad number"},
		{"trailing dot", `{"alipay_trade_pay_response":{"a":1.}}`, "bad number"},
		{"empty exponent", `{"alipay_trade_pay_response":{"a":1e}}`, "bad number"},
		{"plus sign", `{"alipay_trade_pay_response":{"a":+1}}`, "unexpected character '+'"},
		{"single quotes", `{'alipay_trade_pay_response':{}}`, "expected a string"},
		{"nesting too deep", `{"alipay_trade_pay_response":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, "nesting too deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.body), "alipay.trade.pay")
			if err == nil {
				t.Fatalf("accepted: %+v", env)
			}
			if !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("err %v does not wrap ErrMalformedResponse", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Valid JSON that is still accepted: deep but within the limit, every number form JSON
// allows, every escape.
func TestEnvelopeAcceptsAllJSON(t *testing.T) {
	for _, v := range []string{
		`{"n":[0,-0,1,-1,10,0.5,-0.5,1e5,1E5,1e+5,1e-5,1.25E-10,123456789012345678901234567890,1e999]}`,
		`{"s":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00 raw é 😀"}`,
		`{"l":[true,false,null,{},[],""]}`,
		`{"d":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`,
		" {\n\t\"ws\" : [ 1 , 2 ] \r\n} ",
	} {
		body := `{"alipay_trade_pay_response":` + v + `,"sign":"c2ln"}`
		env, err := ParseEnvelope([]byte(body), "alipay.trade.pay")
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if want := strings.TrimSpace(v); string(env.Content) != want {
			t.Errorf("Content %q, want %q", env.Content, want)
		}
	}
}

func TestAppendEnvelopeLayout(t *testing.T) {
	for _, tc := range []struct {
		name, node, content, certSN, sign, want string
	}{
		{"key mode", "alipay_trade_pay_response", `{"code":"10000"}`, "", "c2ln",
			`{"alipay_trade_pay_response":{"code":"10000"},"sign":"c2ln"}`},
		{"cert mode: cert sn between node and sign", "alipay_trade_pay_response", `{"code":"10000"}`, "7513daaaa48aa3ba2e4018d84402479c", "c2ln",
			`{"alipay_trade_pay_response":{"code":"10000"},"alipay_cert_sn":"7513daaaa48aa3ba2e4018d84402479c","sign":"c2ln"}`},
		{"unsigned", "error_response", `{"code":"40002"}`, "", "",
			`{"error_response":{"code":"40002"}}`},
		{"characters JSON must escape", "alipay_trade_pay_response", `{}`, "a\"b", "c\\d\n",
			`{"alipay_trade_pay_response":{},"alipay_cert_sn":"a\"b","sign":"c\\d\n"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendEnvelope([]byte("prefix"), tc.node, []byte(tc.content), tc.certSN, tc.sign)
			if string(got) != "prefix"+tc.want {
				t.Fatalf("got  %s\nwant %s", got[6:], tc.want)
			}
			if !json.Valid(got[6:]) {
				t.Fatalf("not valid JSON: %s", got[6:])
			}
			env, err := ParseEnvelope(got[6:], strings.TrimSuffix(strings.ReplaceAll(tc.node, "_", "."), ".response"))
			if err != nil {
				t.Fatal(err)
			}
			if string(env.Content) != tc.content || env.Sign != tc.sign || env.CertSN != tc.certSN {
				t.Errorf("round trip: %+v", env)
			}
		})
	}
}

func TestResponseNode(t *testing.T) {
	for method, want := range map[string]string{
		"alipay.trade.pay":                               "alipay_trade_pay_response",
		"alipay.trade.precreate":                         "alipay_trade_precreate_response",
		"alipay.trade.fastpay.refund.query":              "alipay_trade_fastpay_refund_query_response",
		"alipay.data.dataservice.bill.downloadurl.query": "alipay_data_dataservice_bill_downloadurl_query_response",
	} {
		if got := ResponseNode(method); got != want {
			t.Errorf("ResponseNode(%q) = %q, want %q", method, got, want)
		}
	}
}

// FuzzParseEnvelope: never panics; a successful parse yields Content that is a slice of
// the body and valid JSON, and re-assembling with AppendEnvelope gives a body that parses
// to the same parts.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"alipay_trade_pay_response":{"code":"10000","msg":"Success"},"sign":"c2ln"}`,
		`{"alipay_trade_pay_response":{"code":"10000"},"alipay_cert_sn":"7513daaaa48aa3ba2e4018d84402479c","sign":"c2ln"}`,
		`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"},"sign":"c2ln"}`,
		`{"alipay_trade_pay_response":"ZW5jcnlwdGVk","sign":"c2ln"}`,
		`{"alipay_trade_query_response":{"code":"10000"},"sign":"c2ln"}`,
		`{"alipay_trade_pay_response":{"a":[1,-0.5e+3,true,false,null,"\u00e9\/\"x"]}, "sign" : "ab\/c" }`,
		`{"alipay_trade_pay_response":{},"alipay_trade_pay_response":{}}`,
		`{"alipay_trade_pay_response":{"code":"10000"`,
		`{"sign":"c2ln"}`,
		``,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body, "alipay.trade.pay")
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("error %v does not wrap ErrMalformedResponse", err)
			}
			return
		}
		if !sameBacking(body, env.Content) {
			t.Fatalf("Content %q is not a slice of the body", env.Content)
		}
		if !json.Valid(env.Content) {
			t.Fatalf("Content %q is not valid JSON", env.Content)
		}
		if env.Node != "alipay_trade_pay_response" && env.Node != "error_response" {
			t.Fatalf("Node %q", env.Node)
		}
		again := AppendEnvelope(nil, env.Node, env.Content, env.CertSN, env.Sign)
		if !json.Valid(again) {
			t.Fatalf("AppendEnvelope wrote invalid JSON %q", again)
		}
		env2, err := ParseEnvelope(again, "alipay.trade.pay")
		if err != nil {
			t.Fatalf("re-parse of %q: %v", again, err)
		}
		if !bytes.Equal(env2.Content, env.Content) || env2.Sign != env.Sign || env2.CertSN != env.CertSN || env2.Node != env.Node {
			t.Fatalf("round trip changed %+v into %+v", env, env2)
		}
	})
}
