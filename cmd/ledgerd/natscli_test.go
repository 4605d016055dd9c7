package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/licledger/licledger/wire"
)

// TestStockNATSCLI runs README's nats examples, and the refusals docs/WIRE.md describes, with
// the stock nats CLI (`make test` installs it into ./bin): a partner session with the token as the NATS user and the token's inbox prefix, the
// micro service's info, an anonymous license.validate, and the refusals a user meets without
// the inbox prefix or without a token.
func TestStockNATSCLI(t *testing.T) {
	natsBin, err := exec.LookPath("nats")
	if err != nil {
		t.Skip("the nats CLI is not on PATH; `make test` installs it into ./bin")
	}
	nc, admin := startAsAdmin(t)
	url := nc.ConnectedUrl()
	lic := setupLicense(t, admin, "cli", 3)
	r, err := admin.Command(context.Background(), "license.rotate-key", map[string]any{"licenseId": lic}, "")
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct{ Key string }
	if err := json.Unmarshal(r.Result, &rotated); err != nil || rotated.Key == "" {
		t.Fatalf("rotate-key: %s", r.Raw)
	}
	token, inbox := admin.Token(), wire.InboxPrefix(admin.Token())
	natsCLI := func(args ...string) (string, error) {
		out, err := exec.Command(natsBin, append([]string{"--server", url, "--timeout", "3s"}, args...)...).CombinedOutput()
		return string(out), err
	}
	partner := []string{"--user", token, "--inbox-prefix", inbox, "-H", "Authorization:Bearer " + token}

	out, err := natsCLI(append([]string{"req", "ledger.v1.cmd.seat.register",
		`{"licenseId":"` + lic + `","endUserCompany":"Globex Corp","endUserName":"bob"}`, "-H", "Nats-Msg-Id:register-bob-1"}, partner...)...)
	if err != nil || !strings.Contains(out, `"seat.registered.v1"`) {
		t.Fatalf("seat.register: %v\n%s", err, out)
	}
	out, err = natsCLI(append([]string{"req", "ledger.v1.q.usage.quota", `{"licenseId":"` + lic + `"}`}, partner...)...)
	if err != nil || !strings.Contains(out, `"active":1`) {
		t.Fatalf("usage.quota: %v\n%s", err, out)
	}
	out, err = natsCLI("micro", "info", "ledger", "--user", token, "--inbox-prefix", inbox)
	if err != nil || !strings.Contains(out, "ledger.v1.cmd.seat.register") {
		t.Fatalf("micro info: %v\n%s", err, out)
	}
	for _, verb := range []string{"ls", "stats"} {
		out, err = natsCLI("micro", verb, "ledger", "--user", token, "--inbox-prefix", inbox)
		if err != nil || !strings.Contains(out, "ledger") {
			t.Fatalf("micro %s: %v\n%s", verb, err, out)
		}
	}
	if !strings.Contains(out, "command-seat-register") || !strings.Contains(out, "Errors") {
		t.Fatalf("micro stats lists no seat.register with its errors:\n%s", out)
	}
	out, err = natsCLI("req", "ledger.v1.q.license.validate", `{"key":"`+rotated.Key+`"}`)
	if err != nil || !strings.Contains(out, `"valid":true`) {
		t.Fatalf("anonymous license.validate: %v\n%s", err, out)
	}

	// The refusals docs/WIRE.md describes.
	out, _ = natsCLI("req", "ledger.v1.q.usage.quota", `{"licenseId":"`+lic+`"}`, "--user", token)
	if !strings.Contains(out, "Permissions Violation for Subscription to \"_INBOX.") {
		t.Fatalf("a token without its inbox prefix: want a subscription violation\n%s", out)
	}
	out, _ = natsCLI("req", "ledger.v1.q.usage.quota", `{"licenseId":"`+lic+`"}`)
	if !strings.Contains(out, "Permissions Violation for Publish to \"ledger.v1.q.usage.quota\"") {
		t.Fatalf("no token: want a publish violation\n%s", out)
	}
}
