package main

import (
	"context"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/internal/testreport"
)

// TestPermissionMatrixOverNATS is generated from the matrix: every role × every command and query,
// over NATS. A role the matrix refuses gets 403 FORBIDDEN; a role it allows gets past
// authorization (the empty bodies sent are then refused by validation, so nothing is appended
// either way, which the test checks too). TestScopeMatrixOverNATS adds the scopes.
func TestPermissionMatrixOverNATS(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()

	tokens := map[string]string{"anonymous": ""}
	for _, role := range domain.Roles {
		if role == "anonymous" {
			continue
		}
		_, tokens[role] = issueCredential(t, admin, map[string]any{"role": role})
	}
	queries := map[string]bool{}
	for _, q := range domain.Queries {
		queries[q] = true
	}

	before := lastSequence(t, admin, ctx)
	checked := 0
	for _, role := range domain.Roles {
		c := client.New(nc, tokens[role])
		for _, op := range domain.Operations {
			var err error
			if queries[op] {
				_, err = c.Query(ctx, op, map[string]any{})
			} else {
				_, err = c.Command(ctx, op, map[string]any{}, "")
			}
			ce, _ := err.(*client.Error)
			forbidden := ce != nil && ce.Status == 403
			if role == "anonymous" && op != "license.validate" && op != "license.signing-keys" && op != domain.AdminLoginOp { // the three open to anyone
				// No token: authentication refuses first.
				if ce == nil || ce.Status != 401 {
					t.Errorf("anonymous %s: %v, want 401", op, err)
				}
			} else if want := !domain.Allowed(role, op); forbidden != want {
				t.Errorf("%s %s: forbidden=%v, matrix says allowed=%v (%v)", role, op, forbidden, !want, err)
			}
			if forbidden && (ce.Code != "FORBIDDEN" || !strings.Contains(ce.Message, role)) {
				t.Errorf("%s %s: refusal %+v", role, op, ce)
			}
			checked++
		}
	}
	if after := lastSequence(t, admin, ctx); after != before+1 {
		t.Fatalf("the matrix run appended %d events; refusals must append nothing", after-before-1)
	}
	testreport.Line(t, "%d role × operation pairs checked over NATS", checked)
}
