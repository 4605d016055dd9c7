package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
)

// testCA is a certificate authority made for one test: it signs server and client certificates
// for 127.0.0.1 and writes them as PEM files.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate's PEM file
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue writes a certificate and key for 127.0.0.1 named name, for a server or a client, and
// returns the two files.
func (ca *testCA) issue(t *testing.T, dir, name string, serial int64, server bool) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	usage := x509.ExtKeyUsageClientAuth
	if server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, kind string, der []byte) {
	t.Helper()
	// Written whole to a temporary file and renamed, as a certificate renewal would be.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// httpsClient trusts caFile and presents the client certificate, if given.
func httpsClient(t *testing.T, caFile, certFile, keyFile string) *http.Client {
	t.Helper()
	pool, err := loadCAs(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: pool}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

// startTLS runs ledgerd with TLS and waits until /readyz answers over HTTPS.
func startTLS(t *testing.T, data string, ready *http.Client, flags ...string) (natsURL, httpAddr string) {
	t.Helper()
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := append([]string{"--data", data, "--nats-listen", natsAddr, "--http-listen", httpAddr}, flags...)
	go func() { done <- run(ctx, args, func(string) string { return "" }, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ledgerd: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := ready.Get("https://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return "nats://" + natsAddr, httpAddr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledgerd with TLS not ready: %v", err)
		}
	}
}

// TestTLS: with --tls-cert and --tls-key, NATS and HTTP speak TLS only: real handshakes succeed
// with the CA, plaintext is refused, and a certificate from another CA is refused. A renewed
// certificate takes effect without a restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, dir, "ledger"), newTestCA(t, dir, "other")
	certFile, keyFile := ca.issue(t, dir, "server", 2, true)
	data := t.TempDir()
	natsURL, httpAddr := startTLS(t, data, httpsClient(t, ca.file, "", ""), "--tls-cert", certFile, "--tls-key", keyFile)
	token := readToken(t, data)

	// NATS: TLS with the CA works, for a token and anonymously.
	nc, err := client.Connect(natsURL, token, nats.RootCAs(ca.file))
	if err != nil {
		t.Fatalf("NATS over TLS: %v", err)
	}
	defer nc.Close()
	if _, err := client.New(nc, token).Query(context.Background(), "role.show", map[string]any{"role": "support-agent"}); err != nil {
		t.Fatalf("a query over TLS: %v", err)
	}
	if _, err := nc.TLSConnectionState(); err != nil {
		t.Fatalf("the connection is not TLS: %v", err)
	}
	// Plaintext is refused.
	if c, err := client.Connect(natsURL, token); err == nil {
		c.Close()
		t.Fatal("a plaintext NATS connection was admitted")
	}
	// So is a server the client's CA did not sign: the client refuses the handshake.
	if c, err := client.Connect(natsURL, token, nats.RootCAs(other.file)); err == nil || !strings.Contains(err.Error(), "certificate") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("NATS with another CA: %v; want a certificate error", err)
	}
	// The stock nats CLI, as docs/OPERATIONS.md shows it: --tlsca.
	if natsBin, err := exec.LookPath("nats"); err == nil {
		out, err := exec.Command(natsBin, "--server", natsURL, "--tlsca", ca.file, "--timeout", "3s",
			"req", "ledger.v1.q.license.validate", `{"key":"NOT-A-KEY"}`).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"valid":false`) {
			t.Fatalf("nats --tlsca: %v\n%s", err, out)
		}
	}
	// HTTP: HTTPS only.
	resp, err := httpsClient(t, ca.file, "", "").Get("https://" + httpAddr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTPS: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + httpAddr + "/healthz"); err == nil && resp.StatusCode == 200 {
		resp.Body.Close()
		t.Fatal("plain HTTP was answered")
	}
	if _, err := httpsClient(t, other.file, "", "").Get("https://" + httpAddr + "/healthz"); err == nil {
		t.Fatal("HTTPS with another CA: the client trusted the ledger's certificate")
	}

	// A renewed certificate (another serial, same CA) takes effect without a restart.
	before := servedSerial(t, httpAddr, ca.file)
	ca.issue(t, dir, "server", 3, true)
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t, httpAddr, ca.file) == before {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// servedSerial is the serial number of the certificate the HTTPS listener presents.
func servedSerial(t *testing.T, addr, caFile string) string {
	t.Helper()
	pool, _ := loadCAs(caFile)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestMutualTLS: with --tls-client-ca, both listeners require a client certificate that CA
// signed: none, or one from another CA, is refused.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, dir, "ledger"), newTestCA(t, dir, "other")
	certFile, keyFile := ca.issue(t, dir, "server", 2, true)
	clientCert, clientKey := ca.issue(t, dir, "partner", 4, false)
	strangerCert, strangerKey := other.issue(t, dir, "stranger", 5, false)
	data := t.TempDir()
	natsURL, httpAddr := startTLS(t, data, httpsClient(t, ca.file, clientCert, clientKey),
		"--tls-cert", certFile, "--tls-key", keyFile, "--tls-client-ca", ca.file)
	token := readToken(t, data)

	nc, err := client.Connect(natsURL, token, nats.RootCAs(ca.file), nats.ClientCert(clientCert, clientKey))
	if err != nil {
		t.Fatalf("NATS with a client certificate: %v", err)
	}
	nc.Close()
	for name, opts := range map[string][]nats.Option{
		"no client certificate":       {nats.RootCAs(ca.file)},
		"a certificate of another CA": {nats.RootCAs(ca.file), nats.ClientCert(strangerCert, strangerKey)},
	} {
		if c, err := client.Connect(natsURL, token, opts...); err == nil {
			c.Close()
			t.Fatalf("NATS with %s was admitted", name)
		}
	}
	resp, err := httpsClient(t, ca.file, clientCert, clientKey).Get("https://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with a client certificate: %v", err)
	}
	resp.Body.Close()
	for name, c := range map[string]*http.Client{
		"no client certificate":       httpsClient(t, ca.file, "", ""),
		"a certificate of another CA": httpsClient(t, ca.file, strangerCert, strangerKey),
	} {
		if resp, err := c.Get("https://" + httpAddr + "/healthz"); err == nil {
			resp.Body.Close()
			t.Fatalf("HTTPS with %s was answered", name)
		}
	}
}
