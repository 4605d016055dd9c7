package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
)

const unknownToken = "lic_0000000000000000000000000000000000000000000000000000000000"

// TestFailedAuthenticationIsRateLimited: after 20 failed authentications in a minute, requests
// from that connection are answered 429 with a retry hint, whatever token they carry; other
// connections are not affected.
func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	_, guesserToken := issueCredential(t, admin, map[string]any{"role": "license"})
	_, goodToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin"})
	guesser := connect(t, nc.ConnectedUrl(), guesserToken)
	bad := client.New(guesser, unknownToken)
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

// TestFailedNATSLoginsAreRateLimited: after 20 refused NATS connections from an address, even a
// good token is refused from there for the rest of the minute; open connections go on.
func TestFailedNATSLoginsAreRateLimited(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	_, goodToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin"})
	for i := range 20 {
		if _, err := client.Connect(nc.ConnectedUrl(), unknownToken); !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("guess %d: got %v; want %v", i, err, nats.ErrAuthorization)
		}
	}
	if _, err := client.Connect(nc.ConnectedUrl(), goodToken); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a good token from a limited address: got %v; want %v", err, nats.ErrAuthorization)
	}
	if _, err := admin.Query(ctx, "credential.list", map[string]any{}); err != nil {
		t.Fatalf("an open connection was limited: %v", err)
	}
}
