package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
)

// httpResult is one answer of the HTTP query API.
type httpResult struct {
	status int
	body   map[string]any
}

func (h httpResult) code() string {
	e, _ := h.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (h httpResult) field() string {
	e, _ := h.body["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

// TestHTTPQueryAPI: /v1/<query> answers what the NATS endpoint answers, with the same token,
// scope, view levels, paging and error bodies.
func TestHTTPQueryAPI(t *testing.T) {
	data := t.TempDir()
	natsURL, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	admin := client.New(connect(t, natsURL, token), token)
	ctx := context.Background()
	lic := setupLicense(t, admin, "h", 5)
	setupLicense(t, admin, "i", 5)
	r, err := admin.Command(ctx, "license.rotate-key", map[string]any{"licenseId": lic}, "")
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct{ Key string }
	if err := json.Unmarshal(r.Result, &rotated); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token string, body []byte) httpResult {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+httpAddr+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
		out := httpResult{status: resp.StatusCode}
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
		return out
	}
	get := func(path, token string) httpResult { return call(http.MethodGet, path, token, nil) }

	// The same answer as over NATS.
	overNATS, err := admin.Query(ctx, "usage.quota", map[string]any{"licenseId": lic})
	if err != nil {
		t.Fatal(err)
	}
	var want any
	_ = json.Unmarshal(overNATS, &want)
	if got := get("/v1/usage.quota?licenseId="+lic, token); got.status != 200 || !reflect.DeepEqual(got.body["result"], want) {
		t.Fatalf("usage.quota: %d %v; want %v", got.status, got.body, want)
	}
	// Numeric parameters (read from the schemas) go as numbers; the reply says its sequence.
	at := get("/v1/usage.quota?licenseId="+lic, token).body["sequence"].(float64)
	if got := get(fmt.Sprintf("/v1/usage.quota?licenseId=%s&minSequence=%d&asOf=%d", lic, int(at), int(at)), token); got.status != 200 ||
		got.body["sequence"] != at || !reflect.DeepEqual(got.body["result"], want) {
		t.Fatalf("usage.quota with minSequence and asOf %v: %d %v", at, got.status, got.body)
	}

	// Paging: one license a page, then the next from the cursor.
	first := get("/v1/license.details?limit=1", token)
	items, _ := first.body["result"].(map[string]any)["items"].([]any)
	next, _ := first.body["result"].(map[string]any)["next"].(string)
	if first.status != 200 || len(items) != 1 || next == "" {
		t.Fatalf("first page: %d %v", first.status, first.body)
	}
	second := get("/v1/license.details?limit=1&after="+url.QueryEscape(next), token)
	items2, _ := second.body["result"].(map[string]any)["items"].([]any)
	if second.status != 200 || len(items2) != 1 || reflect.DeepEqual(items, items2) {
		t.Fatalf("second page: %d %v", second.status, second.body)
	}

	// Filters: each narrows the list; status is as of now.
	if _, err := admin.Command(ctx, "license.suspend", map[string]any{"licenseId": "il"}, ""); err != nil {
		t.Fatal(err)
	}
	ids := func(path string) []string {
		t.Helper()
		got := get(path, token)
		if got.status != 200 {
			t.Fatalf("%s: %d %v", path, got.status, got.body)
		}
		var out []string
		for _, it := range got.body["result"].(map[string]any)["items"].([]any) {
			out = append(out, it.(map[string]any)["licenseId"].(string))
		}
		return out
	}
	for path, want := range map[string][]string{
		"/v1/license.details":                                {"hl", "il"},
		"/v1/license.details?resellerId=hr":                  {"hl"},
		"/v1/license.details?tenantId=it":                    {"il"},
		"/v1/license.details?productId=hp":                   {"hl"},
		"/v1/license.details?planId=iplan":                   {"il"},
		"/v1/license.details?status=suspended":               {"il"},
		"/v1/license.details?status=active&resellerId=hr":    {"hl"},
		"/v1/license.details?status=terminated":              nil,
		"/v1/license.details?resellerId=hr&planId=iplan":     nil,
		"/v1/license.details?status=active&limit=1&after=hl": nil,
	} {
		if got := ids(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v; want %v", path, got, want)
		}
	}

	// Scope and view levels, as over NATS.
	_, otherReseller := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ir"}})
	if got := get("/v1/usage.quota?licenseId="+lic, otherReseller); got.status != 404 || got.code() != "LICENSE_NOT_FOUND" {
		t.Fatalf("another reseller's license: %d %v", got.status, got.body)
	}
	agentID, agent := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	if _, err := admin.Command(ctx, "credential.set-access", map[string]any{"credentialId": agentID, "access": map[string]string{"licenses": "basic"}}, ""); err != nil {
		t.Fatal(err)
	}
	if got := get("/v1/license.details?format=detail", agent); got.status != 403 || got.code() != "FORBIDDEN" || got.field() != "format" {
		t.Fatalf("above the grant: %d %v", got.status, got.body)
	}
	if got := get("/v1/license.details?format=basic", agent); got.status != 200 {
		t.Fatalf("at the grant: %d %v", got.status, got.body)
	}

	// Keys go in a POST body; validation needs no token.
	if got := call(http.MethodPost, "/v1/license.validate", "", []byte(`{"key":"`+rotated.Key+`"}`)); got.status != 200 || got.body["result"].(map[string]any)["valid"] != true {
		t.Fatalf("license.validate: %d %v", got.status, got.body)
	}

	// Refusals, each with the error body.
	for _, c := range []struct {
		name, method, path, token string
		body                      []byte
		status                    int
		code, field               string
	}{
		{"no token", "GET", "/v1/usage.quota?licenseId=" + lic, "", nil, 401, "UNAUTHENTICATED", "Authorization"},
		{"a bad token", "GET", "/v1/usage.quota?licenseId=" + lic, unknownToken, nil, 401, "UNAUTHENTICATED", "Authorization"},
		{"a limit that is no number", "GET", "/v1/license.details?limit=many", token, nil, 400, "INVALID_ARGUMENT", "limit"},
		{"an unknown status", "GET", "/v1/license.details?status=lapsed", token, nil, 400, "INVALID_ARGUMENT", "status"},
		{"a limit over the maximum", "GET", "/v1/license.details?limit=5000", token, nil, 400, "INVALID_ARGUMENT", "limit"},
		{"a parameter given twice", "GET", "/v1/usage.quota?licenseId=a&licenseId=b", token, nil, 400, "INVALID_ARGUMENT", "licenseId"},
		{"an unknown parameter", "GET", "/v1/usage.quota?licence=" + lic, token, nil, 400, "SCHEMA_VIOLATION", "licence"},
		{"an unknown query", "GET", "/v1/license.steal", token, nil, 404, "QUERY_NOT_FOUND", ""},
		{"a command is sent with POST", "GET", "/v1/license.terminate?licenseId=" + lic, token, nil, 405, "INVALID_ARGUMENT", ""},
		{"another method", "DELETE", "/v1/usage.quota", token, nil, 405, "INVALID_ARGUMENT", ""},
		{"malformed JSON", "POST", "/v1/usage.quota", token, []byte(`{"licenseId":`), 400, "MALFORMED_JSON", ""},
		{"an oversized body", "POST", "/v1/usage.quota", token, []byte(`{"licenseId":"` + strings.Repeat("x", 70_000) + `"}`), 413, "PAYLOAD_TOO_LARGE", ""},
	} {
		got := call(c.method, c.path, c.token, c.body)
		if got.status != c.status || got.code() != c.code || got.field() != c.field {
			t.Errorf("%s: %d %v; want %d %s (field %q)", c.name, got.status, got.body, c.status, c.code, c.field)
		}
	}
}

// TestHTTPCommands: POST /v1/<command> takes the body NATS takes and answers what NATS answers,
// with the error's status as the HTTP status; Idempotency-Key is the command id, so a retry gets
// the first reply byte for byte and the key with another body is 409; batch.submit is served the
// same way; refusals append nothing.
func TestHTTPCommands(t *testing.T) {
	data := t.TempDir()
	natsURL, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	admin := client.New(connect(t, natsURL, token), token)
	ctx := context.Background()
	lic := setupLicense(t, admin, "hc", 2)
	post := func(name, key, tok string, body string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/v1/"+name, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, raw
	}
	// The reply NATS gives, over HTTP.
	status, _, raw := post("seat.register", "", token, `{"licenseId":"`+lic+`","endUserCompany":"Acme","endUserName":"ann"}`)
	var reply struct {
		Result map[string]any
		Events []struct {
			ID, Type string
			Sequence uint64
		}
		Version  int
		Sequence uint64
	}
	if json.Unmarshal(raw, &reply); status != 200 || reply.Result["registered"] != true || len(reply.Events) != 1 ||
		reply.Events[0].Type != "seat.registered.v1" || reply.Sequence == 0 {
		t.Fatalf("seat.register over HTTP: %d %s", status, raw)
	}
	viaNATS, err := admin.Command(ctx, "seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var natsShape, httpShape map[string]any
	json.Unmarshal(viaNATS.Raw, &natsShape)
	json.Unmarshal(raw, &httpShape)
	if !reflect.DeepEqual(keysOf(natsShape), keysOf(httpShape)) || !reflect.DeepEqual(keysOf(natsShape["result"]), keysOf(httpShape["result"])) {
		t.Errorf("NATS and HTTP replies differ in shape: %s vs %s", viaNATS.Raw, raw)
	}

	// Idempotency-Key: the same reply, secrets included, byte for byte; another body is 409.
	body := `{"resellerId":"hcr","tenantId":"hct","planId":"hcplan"}`
	s1, _, first := post("license.create", "create-once-1", token, body)
	s2, _, again := post("license.create", "create-once-1", token, body)
	if s1 != 200 || s2 != 200 || !bytes.Equal(first, again) || !strings.Contains(string(first), `"key"`) {
		t.Fatalf("a retry with the same Idempotency-Key: %d %s / %d %s", s1, first, s2, again)
	}
	before := lastSequence(t, admin, ctx)
	for _, c := range []struct {
		what, name, key, token, body string
		status                       int
		code                         string
	}{
		{"the key with another body", "license.create", "create-once-1", token, `{"resellerId":"hcr","tenantId":"hct","planId":"hcplan","id":"other"}`, 409, "COMMAND_ID_REUSED"},
		{"the quota used up", "seat.register", "", token, `{"licenseId":"` + lic + `","endUserCompany":"Acme","endUserName":"cy"}`, 422, "QUOTA_EXCEEDED"},
		{"no such license", "license.suspend", "", token, `{"licenseId":"nope"}`, 404, "LICENSE_NOT_FOUND"},
		{"no token", "license.suspend", "", "", `{"licenseId":"` + lic + `"}`, 401, "UNAUTHENTICATED"},
		{"a field the schema does not have", "license.suspend", "", token, `{"licenseId":"` + lic + `","why":"x"}`, 400, "SCHEMA_VIOLATION"},
	} {
		status, header, raw := post(c.name, c.key, c.token, c.body)
		var e struct{ Error struct{ Code string } }
		if json.Unmarshal(raw, &e); status != c.status || e.Error.Code != c.code {
			t.Errorf("%s: %d %s; want %d %s", c.what, status, raw, c.status, c.code)
		}
		if status == 401 && header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s: no WWW-Authenticate", c.what)
		}
	}
	if after := lastSequence(t, admin, ctx); after != before+1 {
		t.Fatalf("refusals over HTTP appended %d events", after-before-1)
	}
	// A batch, over HTTP too.
	status, _, raw = post("batch.submit", "", token, `{"commands":[{"name":"license.note","body":{"licenseId":"`+lic+`","note":"one"}},`+
		`{"name":"license.note","body":{"licenseId":"`+lic+`","note":"two"}}]}`)
	var batch struct {
		Result struct {
			Results []struct{ Events []struct{ Type string } }
			Refused int
		}
	}
	if json.Unmarshal(raw, &batch); status != 200 || len(batch.Result.Results) != 2 || batch.Result.Refused != 0 ||
		batch.Result.Results[1].Events[0].Type != "license.noted.v1" {
		t.Fatalf("batch.submit over HTTP: %d %s", status, raw)
	}
}

// keysOf lists a JSON object's keys, sorted (nil for anything else).
func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
