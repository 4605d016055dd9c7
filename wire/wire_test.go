package wire

import "testing"

func TestSubjects(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{RequestSubject(KindCommand, "seat.register", ""), "ledger.v1.cmd.seat.register"},
		{RequestSubject(KindQuery, "usage.quota", "r1"), "ledger.v1.q.usage.quota.r1"},
		{PartitionSubject("2", KindQuery, "usage.summary", ""), "ledger.v1.p.2.q.usage.summary._"},
		{PartitionSubject("0", KindCommand, "seat.register", "r1"), "ledger.v1.p.0.cmd.seat.register.r1"},
		{InPartition(3, EventPrefix), "ledger.v1.p.3.evt."},
		{InPartition(0, CheckpointSubject), "ledger.v1.p.0.checkpoint"},
		{Bearer("lic_x"), "Bearer lic_x"},
		{BearerToken("bearer  lic_x "), "lic_x"},
		{BearerToken("Basic abc"), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestInboxPrefixIsStable: a token's inbox prefix is part of the contract (partners' clients
// compute it); it must never change for a given token.
func TestInboxPrefixIsStable(t *testing.T) {
	if got := InboxPrefix(""); got != "" {
		t.Errorf("no token: %q", got)
	}
	const want = "_INBOX_LEDGER.43671ffeb6f5fb71cf5052f88f42d181"
	if got := InboxPrefix("lic_example"); got != want {
		t.Errorf("InboxPrefix(lic_example) = %q; it was %q, and partners' clients compute it", got, want)
	}
}
