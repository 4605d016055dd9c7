package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
)

// quotaOf reads a license's usage.quota as the admin.
func quotaOf(t *testing.T, c *client.Client, license string) (active, consumed int) {
	t.Helper()
	raw, err := c.Query(context.Background(), "usage.quota", map[string]any{"licenseId": license})
	if err != nil {
		t.Fatal(err)
	}
	var q struct{ Active, Consumed int }
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Fatal(err)
	}
	return q.Active, q.Consumed
}

// TestBatchSubmit: a batch over NATS decides each command as if sent alone, in order (the quota
// sees the earlier ones); refusals are outcomes without atomic and refuse the whole batch, leaving
// the log and the write model as they were, with it; one command id covers the batch; the events
// are contiguous; a command's role, scope and address are checked as alone; the limits hold.
func TestBatchSubmit(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	lic := setupLicense(t, admin, "b", 3)
	other := setupLicense(t, admin, "o", 3)

	// Not atomic: three seats fit, the fourth and fifth exceed the quota, an unknown command and
	// a malformed body are refused where they stand, and a note after them still lands.
	cmds := []client.BatchCommand{
		{Name: "seat.register", Body: seat(lic, "u1")},
		{Name: "seat.register", Body: seat(lic, "u2")},
		{Name: "seat.register", Body: seat(lic, "u3")},
		{Name: "seat.register", Body: seat(lic, "u4")},
		{Name: "no.such", Body: map[string]any{}},
		{Name: "seat.register", Body: map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": 7}},
		{Name: "license.note", Body: map[string]any{"licenseId": lic, "note": "batch"}},
	}
	r, err := admin.Batch(ctx, cmds, false, "batch-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != len(cmds) || r.Refused != 3 {
		t.Fatalf("results %d, refused %d; want %d, 3:\n%s", len(r.Results), r.Refused, len(cmds), r.Raw)
	}
	for i, want := range []string{"", "", "", "QUOTA_EXCEEDED", "INVALID_ARGUMENT", "SCHEMA_VIOLATION", ""} {
		got := r.Results[i]
		switch {
		case want == "" && (got.Error != nil || len(got.Events) != 1):
			t.Errorf("command %d: %+v; want one event", i, got)
		case want != "" && (got.Error == nil || got.Error.Code != want || len(got.Events) != 0):
			t.Errorf("command %d: %+v; want %s and no event", i, got, want)
		}
	}
	if e := r.Results[3].Error; !strings.HasPrefix(e.Field, "commands.3.") {
		t.Errorf("the refusal names field %q; want commands.3.…", e.Field)
	}
	if e := r.Results[5].Error; e.Field != "commands.5.body.endUserName" {
		t.Errorf("the schema refusal names field %q; want commands.5.body.endUserName", e.Field)
	}
	if len(r.Events) != 4 {
		t.Fatalf("%d events; want 4", len(r.Events))
	}
	for i := 1; i < len(r.Events); i++ {
		if r.Events[i].Sequence != r.Events[0].Sequence+uint64(i) {
			t.Fatalf("the batch's events are not contiguous: %+v", r.Events)
		}
	}
	if active, consumed := quotaOf(t, admin, lic); active != 3 || consumed != 3 {
		t.Fatalf("quota after the batch: active %d consumed %d; want 3, 3", active, consumed)
	}

	// One command id covers the batch: a retry gets the first reply byte for byte and appends
	// nothing; the same id with another body is refused.
	again, err := admin.Batch(ctx, cmds, false, "batch-1")
	if err != nil || !bytes.Equal(again.Raw, r.Raw) {
		t.Fatalf("retry: %v\n%s\nwant\n%s", err, again.Raw, r.Raw)
	}
	_, err = admin.Batch(ctx, cmds[:2], false, "batch-1")
	wantCode(t, err, 409, "COMMAND_ID_REUSED")
	// A command of a batch carries no id of its own.
	withID := map[string]any{"licenseId": lic, "note": "x", "commandId": "mine"}
	r2, err := admin.Batch(ctx, []client.BatchCommand{{Name: "license.note", Body: withID}}, false, "")
	if err != nil || r2.Refused != 1 || r2.Results[0].Error.Field != "commands.0.body.commandId" {
		t.Fatalf("a command with its own id: %v %s", err, r2.Raw)
	}

	// Atomic: two seats fit, the third does not; nothing is appended and the write model is as
	// before, so three single registrations then fit exactly.
	before := r.Events[len(r.Events)-1].Sequence
	atomic := []client.BatchCommand{
		{Name: "seat.register", Body: seat(other, "a1")},
		{Name: "seat.register", Body: seat(other, "a2")},
		{Name: "license.note", Body: map[string]any{"licenseId": other, "note": "kept?"}},
		{Name: "seat.register", Body: seat(other, "a3")},
		{Name: "seat.register", Body: seat(other, "a4")},
	}
	_, err = admin.Batch(ctx, atomic, true, "")
	ce := wantCode(t, err, 422, "QUOTA_EXCEEDED")
	if !strings.HasPrefix(ce.Field, "commands.4.") || !strings.Contains(ce.Message, "command 4") {
		t.Fatalf("an atomic refusal names %q, %q; want command 4", ce.Field, ce.Message)
	}
	for _, u := range []string{"x1", "x2", "x3"} {
		if _, err := admin.Command(ctx, "seat.register", seat(other, u), ""); err != nil {
			t.Fatalf("after a refused atomic batch, %s: %v (the write model kept its seats)", u, err)
		}
	}
	if active, consumed := quotaOf(t, admin, other); active != 3 || consumed != 3 {
		t.Fatalf("quota after the refused atomic batch and three seats: %d %d", active, consumed)
	}
	note, err := admin.Command(ctx, "license.note", map[string]any{"licenseId": other, "note": "after"}, "")
	if err != nil || note.Version != 5 { // created, three seats, this note: the batch's note is gone
		t.Fatalf("the license's version after the refused batch: %v %d; want 5", err, note.Version)
	}
	if note.Events[0].Sequence != before+4 { // x1..x3, this note: nothing between
		t.Fatalf("sequence %d after a refused atomic batch at %d; want %d", note.Events[0].Sequence, before, before+4)
	}
	// An atomic batch whose command is refused before the sequencer is refused whole too.
	_, err = admin.Batch(ctx, []client.BatchCommand{{Name: "license.note", Body: map[string]any{"licenseId": other, "note": "n"}}, {Name: "batch.submit", Body: map[string]any{}}}, true, "")
	if ce := wantCode(t, err, 400, "INVALID_ARGUMENT"); ce.Field != "commands.1.name" {
		t.Fatalf("a batch in a batch: field %q", ce.Field)
	}

	// Each command's role, scope and address as if alone: a tenant admin of reseller b may
	// register seats on its licenses, not create licenses, and not touch reseller o's.
	_, tok := issueCredential(t, admin, map[string]any{"role": "tenant-admin", "scope": map[string]any{"resellerId": "br", "tenantId": "bt"}})
	tenant := client.New(connect(t, nc.ConnectedUrl(), tok), tok)
	r3, err := tenant.Batch(ctx, []client.BatchCommand{
		{Name: "seat.unregister", Body: seat(lic, "u1")},
		{Name: "license.create", Body: map[string]any{"resellerId": "br", "tenantId": "bt", "planId": "bplan"}},
		{Name: "seat.unregister", Body: seat(other, "x1")},
	}, false, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "FORBIDDEN", "OUT_OF_SCOPE"} {
		if got := r3.Results[i].Error; (want == "") != (got == nil) || got != nil && got.Code != want {
			t.Errorf("tenant admin's command %d: %+v; want %q", i, r3.Results[i], want)
		}
	}
	addressed := client.New(nc, admin.Token())
	addressed.Reseller = "br"
	r4, err := addressed.Batch(ctx, []client.BatchCommand{{Name: "license.note", Body: map[string]any{"licenseId": lic, "note": "n"}}, {Name: "license.note", Body: map[string]any{"licenseId": other, "note": "n"}}}, false, "")
	if err != nil || r4.Results[0].Error != nil || r4.Results[1].Error == nil || r4.Results[1].Error.Code != "MISADDRESSED" {
		t.Fatalf("a batch addressed to br: %v %s", err, r4.Raw)
	}

	// The limits: at most 1000 commands; a batch bigger than the per-request limit is taken.
	many := make([]client.BatchCommand, client.MaxBatch+1)
	for i := range many {
		many[i] = client.BatchCommand{Name: "license.note", Body: map[string]any{"licenseId": lic, "note": fmt.Sprint(i)}}
	}
	_, err = admin.Batch(ctx, many, false, "")
	if ce := wantCode(t, err, 400, "INVALID_ARGUMENT"); ce.Field != "commands" {
		t.Fatalf("1001 commands: field %q", ce.Field)
	}
	r5, err := admin.Batch(ctx, many[:client.MaxBatch], false, "")
	if err != nil || r5.Refused != 0 || len(r5.Events) != client.MaxBatch {
		t.Fatalf("1000 notes (%d bytes over the 64 KiB request limit): %v", len(many)*60, err)
	}
	_, err = admin.Batch(ctx, []client.BatchCommand{}, false, "")
	wantCode(t, err, 400, "INVALID_ARGUMENT")
}
