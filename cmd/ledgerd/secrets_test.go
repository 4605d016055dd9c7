package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/handlers"
)

// TestNoSecretAtRest runs a scripted session that handles every kind of secret (the bootstrap
// token, issued and rotated tokens, license keys before and after rotation, admin passwords),
// logging at debug level, and then scans everything the ledger wrote: its log, /metrics, every
// event in JetStream, and every file in the data directory (Pebble's WAL and tables, the
// JetStream store). The only plaintext secret allowed on disk is the bootstrap token's own file.
func TestNoSecretAtRest(t *testing.T) {
	data := t.TempDir()
	var logs bytes.Buffer
	logw := &lockedWriter{w: &logs}
	url, httpAddr, stop := startLogging(t, data, logw, "--log-level", "debug")
	nc := connect(t, url, readToken(t, data))
	ctx := context.Background()
	bootstrap := readToken(t, data)
	admin := client.New(nc, bootstrap)
	secrets := map[string]string{"bootstrap token": bootstrap}
	result := func(name string, body map[string]any) map[string]any {
		t.Helper()
		r, err := admin.Command(ctx, name, body, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out map[string]any
		json.Unmarshal(r.Result, &out)
		return out
	}
	lic := setupLicense(t, admin, "s", 5)
	// The license key of license.create is not returned by setupLicense: make one more license.
	secrets["license key"] = result("license.create", map[string]any{"resellerId": "sr", "tenantId": "st", "planId": "splan"})["key"].(string)
	secrets["rotated license key"] = result("license.rotate-key", map[string]any{"licenseId": lic})["key"].(string)
	secrets["admin password"] = "Initial12pw"
	result("admin.create", map[string]any{"resellerId": "sr", "username": "sam", "userProfileType": "reseller-admin", "password": secrets["admin password"]})
	secrets["changed admin password"] = "Changed34pw"
	result("admin.update", map[string]any{"username": "sam", "password": secrets["changed admin password"]})
	issued := result("credential.issue", map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "sr"}})
	secrets["issued token"] = issued["token"].(string)
	partner := client.New(nc, secrets["issued token"])
	if _, err := partner.Command(ctx, "seat.register", seat(lic, "ann"), ""); err != nil {
		t.Fatal(err)
	}
	secrets["rotated token"] = result("credential.rotate", map[string]any{"credentialId": issued["id"]})["token"].(string)
	if _, err := client.New(nc, secrets["rotated token"]).Query(ctx, "usage.quota", map[string]any{"licenseId": lic}); err != nil {
		t.Fatal(err)
	}
	// Secrets sent where they fail: an old token, a license key to validate.
	client.New(nc, secrets["issued token"]).Query(ctx, "usage.quota", map[string]any{"licenseId": lic})
	client.New(nc, "").Query(ctx, "license.validate", map[string]any{"key": secrets["license key"]})
	for name, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("%s %q is too short to scan for", name, s)
		}
	}

	scan := func(where string, b []byte) {
		t.Helper()
		for name, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("the %s appears in %s", name, where)
			}
		}
	}
	metrics := []byte(getMetrics(t, httpAddr))
	scan("/metrics", metrics)
	js, _ := jetstream.New(nc)
	waitStreamAt(t, js, lastSequence(t, admin, ctx))
	events := readStream(t, js)
	for _, m := range events {
		scan("event "+m.msgID, m.data)
	}
	nc.Close()
	stop() // flush and close Pebble and JetStream before reading their files

	logw.mu.Lock()
	scan("the log", logs.Bytes())
	logw.mu.Unlock()
	files := 0
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if d.Name() == handlers.BootstrapTokenFile {
			// The scanner must be able to see a secret where one is: here, by design.
			if !bytes.Contains(b, []byte(bootstrap)) {
				t.Errorf("the bootstrap token file does not hold the token; the scan proves nothing")
			}
			return nil
		}
		scan(path, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 || len(events) < 10 || logs.Len() == 0 {
		t.Fatalf("scanned too little: %d files, %d events, %d bytes of log", files, len(events), logs.Len())
	}
	t.Logf("%d secrets scanned for in %d files, %d events, %d bytes of log and %d bytes of metrics", len(secrets), files, len(events), logs.Len(), len(metrics))
}
