package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/internal/testreport"
)

// hostileRequest sends body to subject with the given headers and returns the status and code.
func hostileRequest(t *testing.T, nc *nats.Conn, subject string, header nats.Header, body []byte) (int, string) {
	t.Helper()
	status, reply := requestWith(t, nc, subject, header, body)
	var r struct{ Error struct{ Code string } }
	_ = json.Unmarshal(reply, &r)
	return status, r.Error.Code
}

func nest(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

// TestHostileInputIsRefused sends a table of bad requests through NATS to a running ledger: broken
// and hostile JSON, wrong types, unknown fields, huge strings and arrays, deep nesting, invalid
// UTF-8, negative and overflowing numbers, invalid ids, missing and bad credentials, and a reused
// command id with another body. Each must be answered with its 4xx status and stable code; none
// may append anything; and the ledger must still serve afterwards.
func TestHostileInputIsRefused(t *testing.T) {
	data := t.TempDir()
	url, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	nc := connect(t, url, token)
	admin := client.New(nc, token)
	ctx := context.Background()
	lic := setupLicense(t, admin, "hostile", 10)
	if _, err := admin.Command(ctx, "seat.register", seat(lic, "first"), "used-id"); err != nil {
		t.Fatal(err)
	}
	revokedID, revoked := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	if _, err := admin.Command(ctx, "credential.revoke", map[string]any{"credentialId": revokedID}, ""); err != nil {
		t.Fatal(err)
	}
	rotatedID, rotated := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	if _, err := admin.Command(ctx, "credential.rotate", map[string]any{"credentialId": rotatedID}, ""); err != nil {
		t.Fatal(err)
	}
	// A token with the right shape and checksum, made with another server's key.
	other, err := handlers.NewSecrets(bytes.Repeat([]byte{9}, handlers.ServerKeySize))
	if err != nil {
		t.Fatal(err)
	}
	forged, _, _ := other.NewToken()

	seatBody := func(name string) string {
		return fmt.Sprintf(`{"licenseId":%q,"endUserCompany":"Acme","endUserName":%s}`, lic, name)
	}
	auth := func(tok string) nats.Header { return nats.Header{"Authorization": []string{"Bearer " + tok}} }
	ok := auth(token)
	const cmd, q = "ledger.v1.cmd.", "ledger.v1.q."
	cases := []struct {
		what, subject string
		header        nats.Header
		body          string
		status        int
		code          string
	}{
		{"truncated JSON", cmd + "seat.register", ok, `{"licenseId":`, 400, "MALFORMED_JSON"},
		{"empty body (read as {})", cmd + "seat.register", ok, ``, 400, "INVALID_ARGUMENT"},
		{"trailing garbage", cmd + "seat.register", ok, seatBody(`"a"`) + `}`, 400, "MALFORMED_JSON"},
		{"two objects", cmd + "seat.register", ok, seatBody(`"a"`) + seatBody(`"b"`), 400, "MALFORMED_JSON"},
		{"an array for the body", cmd + "seat.register", ok, `[]`, 400, "SCHEMA_VIOLATION"},
		{"null for the body", cmd + "seat.register", ok, `null`, 400, "SCHEMA_VIOLATION"},
		{"a string for the body", cmd + "seat.register", ok, `"seat"`, 400, "SCHEMA_VIOLATION"},
		{"a number where a string goes", cmd + "seat.register", ok, seatBody(`42`), 400, "SCHEMA_VIOLATION"},
		{"an object where a string goes", cmd + "seat.register", ok, seatBody(`{"a":1}`), 400, "SCHEMA_VIOLATION"},
		{"an unknown field", cmd + "seat.register", ok, `{"licenseId":"x","endUserCompany":"A","endUserName":"b","admin":true}`, 400, "SCHEMA_VIOLATION"},
		{"a duplicated nested field", cmd + "credential.issue", ok, `{"role":"support-agent","scope":{"resellerId":"a","resellerId":"b"}}`, 400, "MALFORMED_JSON"},
		{"a duplicated field", cmd + "seat.register", ok, fmt.Sprintf(`{"licenseId":%q,"licenseId":"other","endUserCompany":"A","endUserName":"b"}`, lic), 400, "MALFORMED_JSON"},
		{"a huge string", cmd + "seat.register", ok, seatBody(`"` + strings.Repeat("a", 60_000) + `"`), 400, "INVALID_ARGUMENT"},
		{"a body past the payload limit", cmd + "seat.register", ok, seatBody(`"` + strings.Repeat("a", 70_000) + `"`), 413, "PAYLOAD_TOO_LARGE"},
		{"a huge array", cmd + "credential.issue", ok, `{"role":"support-agent","scope":{},"description":` + `[` + strings.Repeat(`"x",`, 15_000) + `"x"]}`, 400, "SCHEMA_VIOLATION"},
		{"deep nesting", cmd + "seat.register", ok, seatBody(nest(20_000)), 400, "MALFORMED_JSON"},
		{"invalid UTF-8", cmd + "seat.register", ok, seatBody("\"a\xff\xfeb\""), 400, "MALFORMED_JSON"},
		{"a NUL in a name", cmd + "tenant.create", ok, `{"resellerId":"hostiler","name":"a\u0000b"}`, 400, "INVALID_ARGUMENT"},
		{"negative seats", cmd + "plan.create", ok, `{"productId":"hostilep","name":"P","tier":2,"seats":-1}`, 400, "INVALID_ARGUMENT"},
		{"seats past int64", cmd + "plan.create", ok, `{"productId":"hostilep","name":"P","tier":2,"seats":9223372036854775808}`, 400, "SCHEMA_VIOLATION"},
		{"seats past float64", cmd + "plan.create", ok, `{"productId":"hostilep","name":"P","tier":2,"seats":1e400}`, 400, "SCHEMA_VIOLATION"},
		{"fractional seats", cmd + "plan.create", ok, `{"productId":"hostilep","name":"P","tier":2,"seats":1.5}`, 400, "SCHEMA_VIOLATION"},
		{"an id with a subject dot", cmd + "reseller.create", ok, `{"id":"a.b","name":"R"}`, 400, "INVALID_ARGUMENT"},
		{"an id with a wildcard", cmd + "reseller.create", ok, `{"id":"a>","name":"R"}`, 400, "INVALID_ARGUMENT"},
		{"an id too long", cmd + "reseller.create", ok, `{"id":"` + strings.Repeat("r", 300) + `","name":"R"}`, 400, "INVALID_ARGUMENT"},
		{"an empty id", cmd + "seat.register", ok, `{"licenseId":"","endUserCompany":"A","endUserName":"b"}`, 400, "INVALID_ARGUMENT"},
		{"an unknown license", cmd + "seat.register", ok, `{"licenseId":"nope","endUserCompany":"A","endUserName":"b"}`, 404, "LICENSE_NOT_FOUND"},
		{"a query with a wrong type", q + "license.details", ok, `{"licenseId":7}`, 400, "SCHEMA_VIOLATION"},
		{"a query with a bad asOf", q + "usage.quota", ok, fmt.Sprintf(`{"licenseId":%q,"asOf":"yesterday"}`, lic), 400, "INVALID_ARGUMENT"},
		{"a query with a negative limit", q + "credential.list", ok, `{"limit":-1}`, 400, "INVALID_ARGUMENT"},
		{"a query with a huge limit", q + "credential.list", ok, `{"limit":1e12}`, 400, "SCHEMA_VIOLATION"},
		{"no Authorization header", cmd + "seat.register", nil, seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"Basic instead of Bearer", cmd + "seat.register", nats.Header{"Authorization": []string{"Basic YWRtaW46YWRtaW4="}}, seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"a malformed token", cmd + "seat.register", auth("lic_zzzz"), seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"a huge token", cmd + "seat.register", auth("lic_" + strings.Repeat("a", 20_000)), seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"a forged token", cmd + "seat.register", auth(forged), seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"a revoked token", cmd + "seat.register", auth(revoked), seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"a rotated-out token", cmd + "seat.register", auth(rotated), seatBody(`"a"`), 401, "UNAUTHENTICATED"},
		{"a reused command id with another body", cmd + "seat.register", nats.Header{"Authorization": ok["Authorization"], nats.MsgIdHdr: []string{"used-id"}}, seatBody(`"second"`), 409, "COMMAND_ID_REUSED"},
		{"a huge command id", cmd + "seat.register", nats.Header{"Authorization": ok["Authorization"], nats.MsgIdHdr: []string{strings.Repeat("c", 10_000)}}, seatBody(`"a"`), 400, "INVALID_ARGUMENT"},
	}
	before := metric(t, httpAddr, "licledger_durable_sequence")
	for _, c := range cases {
		status, code := hostileRequest(t, nc, c.subject, c.header, []byte(c.body))
		if status != c.status || code != c.code {
			t.Errorf("%s: %d %s; want %d %s", c.what, status, code, c.status, c.code)
		}
	}
	if after := metric(t, httpAddr, "licledger_durable_sequence"); after != before {
		t.Errorf("bad inputs appended %v events", after-before)
	}
	if _, err := admin.Command(ctx, "seat.register", seat(lic, "after"), ""); err != nil {
		t.Fatalf("the ledger after the bad inputs: %v", err)
	}
	testreport.Line(t, "bad inputs tried: %d, each refused with its code, appended: 0", len(cases))
}
