package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/licensefile"
)

// TestLicenseFiles: anyone reads the signing keys (NATS without a token, HTTP without a header);
// a checkout is an event and its file verifies with those keys alone, names the event's sequence
// and is bound to the machine asked for; the refusals are the domain's.
func TestLicenseFiles(t *testing.T) {
	data := t.TempDir()
	url, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	admin := client.New(connect(t, url, token), token)
	ctx := context.Background()
	lic := setupLicense(t, admin, "lf", 3)
	if _, err := admin.Command(ctx, "machine.activate", map[string]any{"licenseId": lic, "fingerprint": "m1"}, ""); err != nil {
		t.Fatal(err)
	}

	anon := client.New(connect(t, url, ""), "")
	raw, err := anon.Query(ctx, "license.signing-keys", map[string]any{})
	if err != nil {
		t.Fatalf("anonymous license.signing-keys: %v", err)
	}
	var listed struct {
		Keys []struct{ KeyID, Algorithm, PublicKey string }
	}
	if err := json.Unmarshal(raw, &listed); err != nil || len(listed.Keys) != 1 || listed.Keys[0].Algorithm != "ed25519" {
		t.Fatalf("signing keys: %s (%v)", raw, err)
	}
	pub, _ := base64.StdEncoding.DecodeString(listed.Keys[0].PublicKey)
	keys := []licensefile.Key{{ID: listed.Keys[0].KeyID, PublicKey: ed25519.PublicKey(pub)}}
	if licensefile.KeyID(pub) != listed.Keys[0].KeyID {
		t.Fatalf("key id %s is not the public key's", listed.Keys[0].KeyID)
	}
	resp, err := http.Get("http://" + httpAddr + "/v1/license.signing-keys")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !json.Valid(body) {
		t.Fatalf("GET /v1/license.signing-keys without a token: %d %s", resp.StatusCode, body)
	}

	r, err := admin.Command(ctx, "license.checkout", map[string]any{"licenseId": lic, "fingerprint": "m1", "ttlSeconds": 3600}, "")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		File    string
		KeyID   string
		License licensefile.License
	}
	if err := json.Unmarshal(r.Result, &out); err != nil || len(r.Events) != 1 || r.Events[0].Type != "license.checked-out.v1" {
		t.Fatalf("checkout reply: %s", r.Raw)
	}
	got, err := licensefile.Verify([]byte(out.File), keys, time.Now(), "m1")
	if err != nil {
		t.Fatalf("the file does not verify with the listed key: %v", err)
	}
	if got.LicenseID != lic || got.Fingerprint != "m1" || got.Sequence != r.Events[0].Sequence || got.Status != "active" ||
		got.ProductID != "lfp" || got.PlanID != "lfplan" || got.ValidUntil.Sub(got.IssuedAt) != time.Hour || !sameLicense(got, out.License) {
		t.Fatalf("the file says %+v; the reply %+v; the event is at %d", got, out.License, r.Events[0].Sequence)
	}
	if _, err := licensefile.Verify([]byte(out.File), keys, time.Now(), "m2"); !errors.Is(err, licensefile.ErrWrongFingerprint) {
		t.Fatalf("on another machine: %v", err)
	}
	if _, err := licensefile.Verify([]byte(out.File), keys, time.Now().Add(2*time.Hour), "m1"); !errors.Is(err, licensefile.ErrExpired) {
		t.Fatalf("after its hour: %v", err)
	}

	before := lastSequence(t, admin, ctx)
	for _, c := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"licenseId": lic, "fingerprint": "m9"}, "MACHINE_NOT_FOUND"},
		{map[string]any{"licenseId": lic, "ttlSeconds": 60}, "INVALID_ARGUMENT"},
		{map[string]any{"licenseId": lic, "ttlSeconds": 2 * 365 * 24 * 3600}, "INVALID_ARGUMENT"},
		{map[string]any{"licenseId": "nope"}, "LICENSE_NOT_FOUND"},
	} {
		_, err := admin.Command(ctx, "license.checkout", c.body, "")
		if ce, ok := err.(*client.Error); !ok || ce.Code != c.code {
			t.Errorf("checkout %v: %v, want %s", c.body, err, c.code)
		}
	}
	if after := lastSequence(t, admin, ctx); after != before+1 { // its own marker
		t.Fatalf("refused checkouts appended %d events", after-before-1)
	}
	// Without ttlSeconds the file is valid for 30 days.
	r, err = admin.Command(ctx, "license.checkout", map[string]any{"licenseId": lic}, "")
	if err != nil {
		t.Fatal(err)
	}
	out.License = licensefile.License{}
	if err := json.Unmarshal(r.Result, &out); err != nil || out.License.ValidUntil.Sub(out.License.IssuedAt) != 30*24*time.Hour || out.License.Fingerprint != "" {
		t.Fatalf("default checkout: %s", r.Raw)
	}
}

func sameLicense(a, b licensefile.License) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
