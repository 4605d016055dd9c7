package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/schemas"
)

// contractOrder runs every endpoint's example from schemas/testdata in an order in which each
// succeeds. A name with a body is a fixture the examples need (a second plan to upgrade to).
var contractOrder = []struct {
	kind, name string
	fixture    map[string]any
}{
	{"command", "reseller.create", nil},
	{"command", "tenant.create", nil},
	{"command", "tenant.update", nil},
	{"command", "product.create", nil},
	{"command", "plan.create", nil},
	{"command", "plan.create", map[string]any{"id": "ex-pro", "productId": "ex-product", "name": "Pro", "tier": 2, "seats": 20}},
	{"command", "entitlement.create", nil},
	{"command", "plan.attach-entitlements", nil},
	{"command", "license.create", nil},
	{"command", "license.attach-entitlements", nil},
	{"command", "seat.register", nil},
	{"command", "batch.submit", nil},
	{"command", "machine.activate", nil},
	{"command", "machine.heartbeat", nil},
	{"command", "license.checkout", nil},
	{"command", "license.note", nil},
	{"command", "license.set-quota", nil},
	{"command", "license.upgrade", nil},
	{"command", "license.downgrade", nil},
	{"command", "license.rotate-key", nil},
	{"command", "license.suspend", nil},
	{"command", "license.reinstate", nil},
	{"command", "license.expire", nil},
	{"command", "license.renew", nil},
	{"command", "credential.issue", nil},
	{"command", "credential.set-access", nil},
	{"query", "license.validate", nil},
	{"query", "license.signing-keys", nil},
	{"query", "tenant.get", nil},
	{"query", "tenant.list", nil},
	{"query", "seat.authenticate", nil},
	{"query", "license.details", nil},
	{"query", "role.show", nil},
	{"query", "credential.get", nil},
	{"query", "credential.list", nil},
	{"query", "usage.quota", nil},
	{"query", "usage.summary", nil},
	{"query", "dashboard.show", nil},
	{"query", "dashboard.history", nil},
	{"query", "audit.checkpoint", nil},
	{"query", "audit.inclusion", nil},
	{"query", "audit.consistency", nil},
	{"query", "audit.events", nil},
	{"command", "webhook.create", nil},
	{"command", "webhook.update", nil},
	{"query", "webhook.list", nil},
	{"query", "webhook.deliveries", nil},
	{"command", "webhook.disable", nil},
	{"command", "webhook.enable", nil},
	{"command", "webhook.delete", nil},
	{"command", "credential.disable", nil},
	{"command", "credential.enable", nil},
	{"command", "credential.rotate", nil},
	{"command", "credential.update", nil},
	{"command", "credential.revoke", nil},
	{"command", "credential.delete", nil},
	{"command", "machine.deactivate", nil},
	{"command", "seat.unregister", nil},
	{"command", "admin.create", nil},
	{"command", "admin.update", nil},
	{"command", "admin.login", nil},
	{"query", "admin.get", nil},
	{"query", "product.list", nil},
	{"query", "plan.list", nil},
	{"query", "admin.list", nil},
	{"command", "admin.delete", nil},
	{"command", "license.detach-entitlements", nil},
	{"command", "plan.detach-entitlements", nil},
	{"command", "license.terminate", nil},
}

// rawRequest sends body to subject as token and returns the reply's bytes and its status (200,
// or the micro error header's).
func rawRequest(t *testing.T, nc *nats.Conn, token, subject string, body []byte) (int, []byte) {
	t.Helper()
	return requestWith(t, nc, subject, nats.Header{"Authorization": []string{"Bearer " + token}}, body)
}

// requestWith sends body to subject with the given headers and returns the status (200, or the
// micro error header's) and the reply body.
func requestWith(t *testing.T, nc *nats.Conn, subject string, header nats.Header, body []byte) (int, []byte) {
	t.Helper()
	resp, err := nc.RequestMsg(&nats.Msg{Subject: subject, Data: body, Header: header}, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	status := 200
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		if err := json.Unmarshal([]byte(code), &status); err != nil {
			t.Fatalf("%s: error header %q", subject, code)
		}
	}
	return status, resp.Data
}

// TestEveryEndpointOverNATS is the wire contract end to end: from a client connection of its
// own, it finds the endpoints with the micro service's INFO, checks each names its schemas (and
// that ledgerd serves them), and sends every endpoint its example from schemas/testdata. Every
// reply must match the reply schema the metadata names. For each command it first sends the
// example with each field its schema requires left out (each must be refused, 4xx) and with an
// unknown field (SCHEMA_VIOLATION naming it, with its JSON pointer); every refusal must match
// the error schema and none may append anything.
func TestEveryEndpointOverNATS(t *testing.T) {
	data := t.TempDir()
	url, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	nc := connect(t, url, token)
	admin := client.New(nc, token)
	ctx := context.Background()
	v := schemas.NewValidator()

	// Discovery: INFO names every endpoint with its schemas.
	msg, err := nc.Request("$SRV.INFO.ledger", nil, 5*time.Second)
	if err != nil {
		t.Fatalf("micro INFO: %v", err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	type endpoint struct{ subject, request, reply string }
	endpoints := map[string]endpoint{}
	for _, e := range info.Endpoints {
		md := e.Metadata
		key := md["kind"] + " " + md["name"]
		if md["error_schema"] != schemas.ErrorURL || !strings.HasPrefix(md["request_schema"], schemas.BaseURL) ||
			!strings.HasPrefix(md["response_schema"], schemas.BaseURL) {
			t.Errorf("%s: metadata %v does not name its schemas", e.Name, md)
		}
		endpoints[key] = endpoint{e.Subject, strings.TrimPrefix(md["request_schema"], schemas.BaseURL),
			strings.TrimPrefix(md["response_schema"], schemas.BaseURL)}
	}
	covered := map[string]bool{}
	for _, step := range contractOrder {
		covered[step.kind+" "+step.name] = true
	}
	if len(endpoints) != len(covered) {
		t.Fatalf("the service has %d endpoints, the test covers %d", len(endpoints), len(covered))
	}
	for key := range endpoints {
		if !covered[key] {
			t.Errorf("endpoint %s is not driven by this test", key)
		}
	}
	// ledgerd serves the schemas the metadata names, byte for byte as embedded.
	e := endpoints["command seat.register"]
	resp, err := http.Get("http://" + httpAddr + "/schemas/" + e.request)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want, _ := schemas.Read(e.request); resp.StatusCode != 200 || string(served) != string(want) {
		t.Errorf("GET /schemas/%s: %d, %d bytes; want the embedded %d", e.request, resp.StatusCode, len(served), len(want))
	}

	refused := func(what string, status int, body []byte) {
		t.Helper()
		if status < 400 || status > 499 {
			t.Errorf("%s: status %d; want a refusal: %s", what, status, body)
		}
		if err := v.Error(body); err != nil {
			t.Errorf("%s: the error body does not match the error schema: %v\n%s", what, err, body)
		}
	}
	for _, step := range contractOrder {
		key := step.kind + " " + step.name
		e := endpoints[key]
		var body []byte
		if step.fixture != nil {
			body, _ = json.Marshal(step.fixture)
		} else {
			dir := map[string]string{"command": "commands", "query": "queries"}[step.kind]
			if body, err = os.ReadFile(filepath.Join("..", "..", "schemas", "testdata", dir, step.name+".json")); err != nil {
				t.Fatal(err)
			}
		}
		if step.kind == "command" && step.fixture == nil {
			var fields map[string]any
			if err := json.Unmarshal(body, &fields); err != nil {
				t.Fatal(err)
			}
			raw, _ := schemas.Read(e.request)
			var schema struct{ Required []string }
			if err := json.Unmarshal(raw, &schema); err != nil {
				t.Fatal(err)
			}
			before := lastSequence(t, admin, ctx)
			for _, field := range schema.Required {
				without := make(map[string]any, len(fields))
				for k, v := range fields {
					if k != field {
						without[k] = v
					}
				}
				b, _ := json.Marshal(without)
				status, reply := rawRequest(t, nc, token, e.subject, b)
				refused(key+" without "+field, status, reply)
			}
			fields["surplus"] = 1
			b, _ := json.Marshal(fields)
			status, reply := rawRequest(t, nc, token, e.subject, b)
			refused(key+" with an unknown field", status, reply)
			var r struct {
				Error struct{ Code, Field, Pointer string }
			}
			if json.Unmarshal(reply, &r); r.Error.Code != "SCHEMA_VIOLATION" || r.Error.Field != "surplus" || r.Error.Pointer != "/surplus" {
				t.Errorf("%s with an unknown field: %s; want SCHEMA_VIOLATION at /surplus", key, reply)
			}
			if after := lastSequence(t, admin, ctx); after != before+1 {
				t.Errorf("%s: refusals appended %d events", key, after-before-1)
			}
		}
		status, reply := rawRequest(t, nc, token, e.subject, body)
		if status != 200 {
			t.Errorf("%s %s: %d %s", key, body, status, reply)
			continue
		}
		if err := v.Validate(e.reply, reply); err != nil {
			t.Errorf("%s: the reply does not match %s: %v\n%s", key, e.reply, err, reply)
		}
	}
	if t.Failed() {
		return
	}
	// STATS counts what was answered: seat.register had its two required fields left out in turn
	// (licenseId may be left out by a license-scoped credential), an unknown field, and the
	// example; three refusals, with the time until each reply.
	msg, err = nc.Request("$SRV.STATS.ledger", nil, 5*time.Second)
	if err != nil {
		t.Fatalf("micro STATS: %v", err)
	}
	var stats micro.Stats
	if err := json.Unmarshal(msg.Data, &stats); err != nil || stats.ID != info.ID || stats.Type != micro.StatsResponseType {
		t.Fatalf("micro STATS: %v %s", err, msg.Data)
	}
	for _, es := range stats.Endpoints {
		if es.Subject != "ledger.v1.cmd.seat.register" {
			continue
		}
		if es.NumRequests != 4 || es.NumErrors != 3 || !strings.Contains(es.LastError, "SCHEMA_VIOLATION") ||
			es.ProcessingTime <= 0 || es.AverageProcessingTime != es.ProcessingTime/4 {
			t.Errorf("seat.register stats: %+v; want 4 requests, 3 errors, the last a SCHEMA_VIOLATION, and their time", es)
		}
	}
	if msg, err = nc.Request("$SRV.PING.ledger."+info.ID, nil, 5*time.Second); err != nil || !strings.Contains(string(msg.Data), micro.PingResponseType) {
		t.Errorf("micro PING by id: %v", err)
	}
	// The queries saw the examples' data: the run did more than answer empty pages.
	out, err := admin.Query(ctx, "tenant.list", map[string]any{"resellerId": "ex-reseller"})
	if err != nil || !strings.Contains(string(out), "ex-tenant") {
		t.Errorf("tenant.list: %s, %v", out, err)
	}
	// credential.delete, the last command on ex-credential, took it out of the list.
	out, err = admin.Query(ctx, "credential.list", map[string]any{"resellerId": "ex-reseller"})
	if err != nil || strings.Contains(string(out), "ex-credential") {
		t.Errorf("credential.list after credential.delete: %s, %v", out, err)
	}
}
