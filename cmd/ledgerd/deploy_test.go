package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
)

// TestDeployNATSConfigAdmitsLikeTheEmbeddedServer runs a real nats-server from
// deploy/nats-server.conf, exactly as shipped, and ledgerd against it with --nats-url: the
// cluster asks ledgerd (auth callout) about every connection, and partners get the same
// admission and isolation as on the embedded server. A revoked credential's connection ends with
// its session and cannot come back; an expiring credential's ends at its expiry.
func TestDeployNATSConfigAdmitsLikeTheEmbeddedServer(t *testing.T) {
	data := t.TempDir()
	ns, password := startDeployNATS(t, "nats-server.conf", data, map[string]string{"LICLEDGER_NATS_SERVER_NAME": "deploy-test"})
	url := ns.ClientURL()

	env := map[string]string{"LICLEDGER_NATS_PASSWORD": password}
	getenv := func(k string) string { return env[k] }
	_, _, stop := startWithEnv(t, data, io.Discard, getenv, "--nats-url", url)
	token := readToken(t, data)
	nc := connect(t, url, token)
	admin := client.New(nc, token)

	if _, err := nats.Connect(url, nats.UserInfo("ledgerd", "guess")); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("ledgerd's user with a guessed password: got %v", err)
	}
	checkAdmission(t, url, admin)
	checkIsolation(t, nc, admin)

	// An expiring credential's session ends at its expiry, well before the 10-minute session.
	expires := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	_, expiringToken := issueCredential(t, admin, map[string]any{"role": "support-agent", "expiresAt": expires.Format(time.RFC3339)})
	expiring := connectWatched(t, url, expiringToken)
	select {
	case <-expiring.closed:
		if late := time.Since(expires); late > 2*time.Second {
			t.Fatalf("the expired credential's connection closed %s after its expiry", late)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an expired credential's connection is still open")
	}

	// The cluster's session ends; the client comes back with its token, unless it was revoked.
	// (A short session only now: the checks above hold connections that must not expire.)
	stop()
	startWithEnv(t, data, io.Discard, getenv, "--nats-url", url, "--nats-session", "2s")
	id, doomedToken := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	doomed := connectWatched(t, url, doomedToken)
	_, keptToken := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	kept := connect(t, url, keptToken)
	if _, err := admin.Command(context.Background(), "credential.revoke", map[string]any{"credentialId": id}, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-doomed.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a revoked credential's connection outlived its session")
	}
	if _, err := client.Connect(url, doomedToken); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("reconnect with a revoked token: got %v; want %v", err, nats.ErrAuthorization)
	}
	time.Sleep(3 * time.Second) // past the kept connection's first session
	if _, err := client.New(kept, keptToken).Query(context.Background(), "role.show", map[string]any{"role": "support-agent"}); err != nil {
		t.Fatalf("a kept credential after its session renewed: %v", err)
	}
}

// TestDeployNATSConfigWithTLS runs a real nats-server from deploy/nats-server-tls.conf as
// shipped (deploy/nats-server.conf with TLS) and ledgerd against it with --nats-url tls:// and
// --nats-ca: ledgerd and partners with the CA are admitted through the callout, a plaintext
// connection is refused, and so is a client that trusts another CA.
func TestDeployNATSConfigWithTLS(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	ca, other := newTestCA(t, dir, "nats"), newTestCA(t, dir, "other")
	certFile, keyFile := ca.issue(t, dir, "nats-server", 2, true)
	ns, password := startDeployNATS(t, "nats-server-tls.conf", data, map[string]string{"LICLEDGER_NATS_SERVER_NAME": "deploy-tls-test",
		"LICLEDGER_NATS_TLS_CERT": certFile, "LICLEDGER_NATS_TLS_KEY": keyFile})
	url := fmt.Sprintf("tls://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)

	env := map[string]string{"LICLEDGER_NATS_PASSWORD": password}
	startWithEnv(t, data, io.Discard, func(k string) string { return env[k] }, "--nats-url", url, "--nats-ca", ca.file)
	token := readToken(t, data)
	nc, err := client.Connect(url, token, nats.RootCAs(ca.file), nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("a partner over TLS: %v", err)
	}
	defer nc.Close()
	if _, err := client.New(nc, token).Query(context.Background(), "role.show", map[string]any{"role": "support-agent"}); err != nil {
		t.Fatalf("a query over TLS through the callout: %v", err)
	}
	plain := strings.Replace(url, "tls://", "nats://", 1)
	if c, err := client.Connect(plain, token, nats.Timeout(5*time.Second)); err == nil {
		c.Close()
		t.Fatal("a plaintext connection was admitted")
	}
	if c, err := client.Connect(url, token, nats.RootCAs(other.file), nats.Timeout(5*time.Second)); err == nil {
		c.Close()
		t.Fatal("a client trusting another CA connected")
	}
}

// TestDeployClusterConfigWithTLS: deploy/nats-cluster-tls.conf loads as nats-server reads it,
// and is the cluster node of nats-cluster.conf with TLS required of its clients.
func TestDeployClusterConfigWithTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := newTestCA(t, dir, "nats").issue(t, dir, "node", 2, true)
	for k, v := range map[string]string{"LICLEDGER_CALLOUT_ISSUER": "AAUL7NRNUUIJRIYWXXWY2UPJRRH4BIP6X6WQCXXI26CMA24LV7MHYI5G",
		"LICLEDGER_NATS_PASSWORD": "p", "LICLEDGER_NATS_ROUTE_PASSWORD": "r", "LICLEDGER_NATS_SERVER_NAME": "n1",
		"LICLEDGER_NATS_ROUTE_1": "nats-route://route:r@127.0.0.1:6222", "LICLEDGER_NATS_ROUTE_2": "nats-route://route:r@127.0.0.1:6223",
		"LICLEDGER_NATS_ROUTE_3":  "nats-route://route:r@127.0.0.1:6224",
		"LICLEDGER_NATS_TLS_CERT": certFile, "LICLEDGER_NATS_TLS_KEY": keyFile} {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile("../../deploy/nats-cluster-tls.conf")
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLSConfig == nil || opts.Cluster.Name != "licledger" || len(opts.Routes) != 3 || opts.AuthCallout == nil {
		t.Fatalf("nats-cluster-tls.conf: TLS %t, cluster %q, %d routes, callout %t", opts.TLSConfig != nil, opts.Cluster.Name, len(opts.Routes), opts.AuthCallout != nil)
	}
}

// startDeployNATS runs a real nats-server from the deploy/ configuration conf, as shipped, with
// the environment it reads: the callout issuer of ledgerd's data dir, a fresh password for
// ledgerd (returned), and env. It stops when the test ends.
func startDeployNATS(t *testing.T, conf, data string, env map[string]string) (*server.Server, string) {
	t.Helper()
	var pub bytes.Buffer
	if err := printCalloutKey([]string{"--data", data}, func(string) string { return "" }, &pub, io.Discard); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	password := hex.EncodeToString(secret)
	t.Setenv("LICLEDGER_CALLOUT_ISSUER", strings.TrimSpace(pub.String()))
	t.Setenv("LICLEDGER_NATS_PASSWORD", password)
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join("../../deploy", conf))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.StoreDir, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, t.TempDir(), true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return ns, password
}
