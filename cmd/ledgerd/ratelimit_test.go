package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/wire"
)

const unknownToken = "lic_0000000000000000000000000000000000000000000000000000000000"

// TestFailedAuthenticationIsRateLimited: after 20 failed authentications in a minute, requests
// from that connection are answered 429 with a retry hint, whatever token they carry; other
// connections are not affected; and answers sent to a prefix other than the connection's own
// cannot be read by it.
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

	// The fresh-prefix dodge: a request source is its reply prefix, which the caller names, so
	// a guesser naming a new one each time is not counted as one source. But a connection reads
	// only its own token's inbox: it cannot even subscribe where those answers go, so it learns
	// nothing from them.
	w := connectWatched(t, nc.ConnectedUrl(), guesserToken)
	fresh := wire.InboxNamespace + ".0123456789abcdef0123456789abcdef"
	if _, err := w.SubscribeSync(fresh + ".>"); err != nil {
		t.Fatal(err)
	}
	w.wantViolation(t, "Subscription", fresh)
}

// TestFailedNATSLoginsAreRateLimited: refused NATS logins count against the token and against
// the address. An address, which honest clients may share, gets ten times the limit: after 20
// refused logins a good token still connects from there; after 200, even a good token is refused
// for the rest of the block. Open connections go on.
func TestFailedNATSLoginsAreRateLimited(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	_, goodToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin"})
	guess := func(n int) {
		for i := range n {
			if _, err := client.Connect(nc.ConnectedUrl(), unknownToken); !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("guess %d: got %v; want %v", i, err, nats.ErrAuthorization)
			}
		}
	}
	guess(21)
	good, err := client.Connect(nc.ConnectedUrl(), goodToken)
	if err != nil {
		t.Fatalf("a good token after 21 refused logins from its address: %v", err)
	}
	good.Close()
	guess(179)
	if _, err := client.Connect(nc.ConnectedUrl(), goodToken); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a good token from an address with 200 refused logins: got %v; want %v", err, nats.ErrAuthorization)
	}
	if _, err := admin.Query(ctx, "credential.list", map[string]any{}); err != nil {
		t.Fatalf("an open connection was limited: %v", err)
	}
}

// TestHTTPFailedLoginsDoNotLockOutNeighbours: over HTTP, a token that fails 20 times is answered
// 429, but its address (which a NAT or a proxy may share) keeps working for good tokens until ten
// times as many failures; behind a trusted proxy, each client named by X-Forwarded-For is counted
// on its own.
func TestHTTPFailedLoginsDoNotLockOutNeighbours(t *testing.T) {
	data := t.TempDir()
	natsURL, httpAddr, _ := startLogging(t, data, io.Discard, "--trusted-proxies", "127.0.0.0/8")
	good := readToken(t, data)
	// A well-formed token the ledger no longer knows, whose failures count against it.
	admin := client.New(connect(t, natsURL, good), good)
	id, bad := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	if _, err := admin.Command(context.Background(), "credential.revoke", map[string]any{"credentialId": id}, ""); err != nil {
		t.Fatal(err)
	}
	get := func(token, forwardedFor string) int {
		req, _ := http.NewRequest("GET", "http://"+httpAddr+"/v1/role.show?role=support-agent", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 20 {
		if s := get(bad, "198.51.100.1"); s != 401 {
			t.Fatalf("a bad token: %d; want 401", s)
		}
	}
	if s := get(bad, "198.51.100.1"); s != 429 {
		t.Fatalf("a token that failed 20 times: %d; want 429", s)
	}
	if s := get(good, "198.51.100.1"); s != 200 {
		t.Fatalf("a good token from the guesser's address after 21 failures: %d; want 200", s)
	}
	for i := range 200 {
		get("lic_"+strings.Repeat(strconv.Itoa(i%10), 56), "198.51.100.1")
	}
	if s := get(good, "198.51.100.1"); s != 429 {
		t.Fatalf("a good token from an address with 220 failures: %d; want 429", s)
	}
	if s := get(good, "198.51.100.2"); s != 200 {
		t.Fatalf("another client behind the same proxy: %d; want 200", s)
	}
}
