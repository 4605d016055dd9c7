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

func TestInboxPrefix(t *testing.T) {
	for reply, want := range map[string]string{
		"_INBOX.abc.def":   "_INBOX.abc",
		"_INBOX.abc.def.g": "_INBOX.abc.def",
		"_INBOX.abc":       "_INBOX.abc",
		"":                 "",
	} {
		if got := inboxPrefix(reply); got != want {
			t.Errorf("inboxPrefix(%q) = %q, want %q", reply, got, want)
		}
	}
}
