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

// TestEndpointNamesTheFeedOnlyToThoseWhoMayFollowIt: a credential that may follow its reseller's
// events is told their stream and subject, its partition's; any other is told nothing of them.
func TestEndpointNamesTheFeedOnlyToThoseWhoMayFollowIt(t *testing.T) {
	for _, c := range []struct {
		reseller             string
		feed                 bool
		part                 Partition
		stream, subject, cmd string
	}{
		{"r", true, Partition{}, "LEDGER_EVENTS", "ledger.v1.evt.r.>", "ledger.v1.cmd.<command>.r"},
		{"r", true, Partition{Index: 1, Count: 2}, "LEDGER_EVENTS_1", "ledger.v1.p.1.evt.r.>", "ledger.v1.cmd.<command>.r"},
		{"r", false, Partition{Index: 1, Count: 2}, "", "", "ledger.v1.cmd.<command>.r"},
		{"", true, Partition{}, "", "", "ledger.v1.cmd.<command>"},
	} {
		e := EndpointOf(c.reseller, c.feed, c.part, "nats://n", "")
		if e.EventStream != c.stream || e.EventSubject != c.subject || e.Commands != c.cmd || e.HTTP != "" {
			t.Errorf("EndpointOf(%q, %v, %s) = %+v; want stream %q, subject %q, commands %q", c.reseller, c.feed, c.part, e, c.stream, c.subject, c.cmd)
		}
	}
}
