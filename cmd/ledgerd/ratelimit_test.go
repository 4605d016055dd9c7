package main

import (
	"context"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestFailedAuthenticationIsRateLimited: after 20 failed authentications in a minute, a NATS
// connection is answered 429 with a retry hint, whatever token it sends; other connections are
// not affected.
func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	_, goodToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin"})
	guesser := connect(t, nc.ConnectedUrl())
	bad := client.New(guesser, "lic_0000000000000000000000000000000000000000000000000000000000")
	for range 20 {
		_, err := bad.Query(ctx, "credential.list", map[string]any{})
		wantCode(t, err, 401, "UNAUTHENTICATED")
	}
	_, err := bad.Query(ctx, "credential.list", map[string]any{})
	if e := wantCode(t, err, 429, "RATE_LIMITED"); !strings.Contains(e.Message, "retry in") {
		t.Fatalf("no retry hint: %q", e.Message)
	}
	// The limit is on the source: a good token from the same connection waits too.
	_, err = client.New(guesser, goodToken).Query(ctx, "credential.list", map[string]any{})
	wantCode(t, err, 429, "RATE_LIMITED")
	// Everyone else goes on.
	if _, err := admin.Query(ctx, "credential.list", map[string]any{}); err != nil {
		t.Fatalf("another connection was limited: %v", err)
	}
}
