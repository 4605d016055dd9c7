package handlers

import (
	"strconv"
	"testing"
	"time"
)

func TestAuthLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAuthLimiter(3, time.Minute)
	for i := range 3 {
		if blocked, _ := a.blocked(t0, "s1", ""); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		a.fail(t0, "s1", "tokA")
	}
	if blocked, until := a.blocked(t0.Add(time.Second), "s1", ""); !blocked || !until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 3 failures: blocked=%v until %v", blocked, until)
	}
	if blocked, _ := a.blocked(t0, "s2", "tokA"); !blocked {
		t.Fatal("the token's failures count from any source")
	}
	if blocked, _ := a.blocked(t0, "s2", "tokB"); blocked {
		t.Fatal("another source with another token is not limited")
	}
	if blocked, _ := a.blocked(t0.Add(time.Minute), "s1", ""); blocked {
		t.Fatal("still blocked after the window")
	}
	if blocked, _ := a.blocked(t0, "", "s1"); blocked {
		t.Fatal("a source's failures count against a token of the same name")
	}
	if blocked, _ := newAuthLimiter(0, time.Minute).blocked(t0, "s1", ""); blocked {
		t.Fatal("limit 0 is off")
	}
}

func TestAuthLimiterStaysBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAuthLimiter(3, time.Minute)
	a.maxKeys = 100
	for i := range 1000 {
		a.fail(t0, "source-"+strconv.Itoa(i), "")
		if len(a.keys) > a.maxKeys {
			t.Fatalf("%d keys tracked, bound %d", len(a.keys), a.maxKeys)
		}
	}
}

// TestAuthLimiterAddresses: an address, which many honest clients may share, gets ten times the
// limit, and each window in a row in which it reaches it blocks it twice as long.
func TestAuthLimiterAddresses(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAuthLimiter(3, time.Minute)
	for range 29 {
		a.fail(t0, "http:10.0.0.1", "")
	}
	if blocked, _ := a.blocked(t0, "http:10.0.0.1", ""); blocked {
		t.Fatal("an address blocked before ten times the limit")
	}
	a.fail(t0, "http:10.0.0.1", "")
	if blocked, until := a.blocked(t0, "http:10.0.0.1", ""); !blocked || !until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 30 failures: blocked %t until %v; want the window", blocked, until)
	}
	// Right after the block, the address fails as much again: twice as long, then four times.
	at := t0.Add(time.Minute)
	for want := 2; want <= 4; want *= 2 {
		for range 30 {
			a.fail(at, "http:10.0.0.1", "")
		}
		blocked, until := a.blocked(at, "http:10.0.0.1", "")
		if !blocked || !until.Equal(at.Add(time.Duration(want)*time.Minute)) {
			t.Fatalf("a repeat offender: blocked %t until %v; want %d minutes from %v", blocked, until, want, at)
		}
		at = until
	}
	// A quiet window forgets the strikes.
	at = at.Add(2 * time.Minute)
	for range 30 {
		a.fail(at, "http:10.0.0.1", "")
	}
	if _, until := a.blocked(at, "http:10.0.0.1", ""); !until.Equal(at.Add(time.Minute)) {
		t.Fatalf("after a quiet window: until %v; want one window", until)
	}
	// A NATS connection's inbox is no address: the plain limit.
	for range 3 {
		a.fail(t0, "_INBOX_LEDGER.abcd", "")
	}
	if blocked, _ := a.blocked(t0, "_INBOX_LEDGER.abcd", ""); !blocked {
		t.Fatal("a connection is limited like a token")
	}
}
