package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyFile: ledgerctl takes a license file, prints the public keys without a token, and
// verifies the file offline with the key alone: its contents on success; the reason, and a
// failure, for a changed byte, another machine or an unknown key.
func TestVerifyFile(t *testing.T) {
	url, tokenFile := startLedger(t)
	ctl := ledgerctlFor(url, tokenFile)
	runAll(t, ctl, append(catalogue,
		[]string{"plan", "create", "--id", "one", "--product", "p1", "--name", "One", "--tier", "1", "--seats", "1"},
		[]string{"license", "create", "--id", "l1", "--reseller", "r1", "--tenant", "acme", "--plan", "one"},
		[]string{"machine", "activate", "--license", "l1", "--fingerprint", "m1"})...)
	out, err := ctl("license", "checkout", "--license", "l1", "--fingerprint", "m1", "--ttl-seconds", "7200")
	if err != nil {
		t.Fatal(err)
	}
	var reply struct{ Result struct{ File string } }
	if err := json.Unmarshal([]byte(out), &reply); err != nil || reply.Result.File == "" {
		t.Fatalf("checkout printed %s", out)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "l1.lic")
	os.WriteFile(file, []byte(reply.Result.File), 0o600)

	anonymous := func(args ...string) (string, error) {
		return ledgerctlFor(url, filepath.Join(dir, "no-token"))(args...)
	}
	out, err = anonymous("license", "signing-keys")
	var keys struct {
		Result struct{ Keys []struct{ PublicKey string } }
	}
	if err != nil || json.Unmarshal([]byte(out), &keys) != nil || len(keys.Result.Keys) != 1 {
		t.Fatalf("signing-keys without a token: %v\n%s", err, out)
	}
	pub := keys.Result.Keys[0].PublicKey

	out, err = ctl("license", "verify-file", "--public-key", pub, "--fingerprint", "m1", file)
	if err != nil || !strings.Contains(out, `"licenseId": "l1"`) {
		t.Fatalf("verify-file: %v\n%s", err, out)
	}
	changed := []byte(reply.Result.File)
	changed[len(changed)/2] ^= 1
	bad := filepath.Join(dir, "changed.lic")
	os.WriteFile(bad, changed, 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--public-key", pub, "--fingerprint", "m1", bad}, "does not verify"},
		{[]string{"--public-key", pub, "--fingerprint", "m2", file}, "bound to another machine"},
		{[]string{"--public-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "--fingerprint", "m1", file}, "unknown key"},
		{[]string{"--public-key", "short", file}, "not a base64 Ed25519 public key"},
	} {
		if _, err := ctl(append([]string{"license", "verify-file"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("verify-file %v: %v, want %q", c.args, err, c.want)
		}
	}
}
