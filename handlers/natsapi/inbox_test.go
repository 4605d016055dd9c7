package natsapi

import "testing"

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
