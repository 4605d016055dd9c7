package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/internal/testreport"
)

// natsServer is an external nats-server subprocess run from deploy/nats-server.conf.
type natsServer struct {
	bin, conf, addr, store, logPath string
	env                             []string
	p                               *process
}

// natsDeploy is what runs nats-server from deploy/'s configurations, as shipped, with its auth
// callout answered by the ledger of one data dir: the binary (built from the pinned module), the
// callout issuer's public key and ledgerd's NATS password.
type natsDeploy struct{ bin, issuer, password string }

func prepareNATS(t *testing.T, root, data string) natsDeploy {
	t.Helper()
	d := natsDeploy{bin: filepath.Join(root, "nats-server")}
	if out, err := exec.Command("go", "build", "-o", d.bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	var issuer bytes.Buffer
	if err := printCalloutKey([]string{"--data", data}, func(string) string { return "" }, &issuer, io.Discard); err != nil {
		t.Fatal(err)
	}
	d.issuer = strings.TrimSpace(issuer.String())
	d.password = randomHex(16)
	return d
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// server prepares (does not start) a nats-server named name from deploy/<conf>, with its files
// under root/name. The configuration is copied as shipped but for its listen addresses and store
// directory (nats-server refuses both store_dir and -sd); env adds to the variables it reads.
func (d natsDeploy) server(t *testing.T, root, conf, name string, env ...string) *natsServer {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ns := &natsServer{bin: d.bin, addr: freeAddr(t), store: filepath.Join(dir, "store"), logPath: filepath.Join(dir, "nats-server.log"),
		env: append([]string{"LICLEDGER_CALLOUT_ISSUER=" + d.issuer, "LICLEDGER_NATS_PASSWORD=" + d.password, "LICLEDGER_NATS_SERVER_NAME=" + name}, env...)}
	b, err := os.ReadFile(filepath.Join("../../deploy", conf))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("store_dir: /var/lib/nats"), []byte("store_dir: "+strconv.Quote(ns.store)), 1)
	ns.conf = filepath.Join(dir, conf)
	if err := os.WriteFile(ns.conf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return ns
}

// externalNATS prepares one nats-server from deploy/nats-server.conf and returns it, not yet
// started, and ledgerd's NATS password.
func externalNATS(t *testing.T, root, data string) (*natsServer, string) {
	t.Helper()
	d := prepareNATS(t, root, data)
	return d.server(t, root, "nats-server.conf", "nats"), d.password
}

// natsCluster prepares three nats-servers from deploy/nats-cluster.conf, routed to each other,
// and returns them, not yet started.
func natsCluster(t *testing.T, d natsDeploy, root string) []*natsServer {
	t.Helper()
	routePassword := randomHex(16)
	routeAddrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	var env []string
	for i, a := range routeAddrs {
		env = append(env, fmt.Sprintf("LICLEDGER_NATS_ROUTE_%d=nats-route://route:%s@%s", i+1, routePassword, a))
	}
	env = append(env, "LICLEDGER_NATS_ROUTE_PASSWORD="+routePassword)
	var nodes []*natsServer
	for i, a := range routeAddrs {
		ns := d.server(t, root, "nats-cluster.conf", fmt.Sprintf("nats-%d", i+1), env...)
		b, err := os.ReadFile(ns.conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ns.conf, bytes.Replace(b, []byte("listen: 0.0.0.0:6222"), []byte("listen: "+a), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, ns)
	}
	return nodes
}

// startNATS starts the prepared servers, each stopped at the end of the test unless it is down
// already, and returns their URLs as one --nats-url. If the test fails, it logs the end of every
// server's log and of the other logs named.
func startNATS(t *testing.T, nodes []*natsServer, logs ...string) string {
	t.Helper()
	var urls []string
	for _, ns := range nodes {
		ns.start(t)
		t.Cleanup(func() {
			if ns.p.cmd.ProcessState == nil {
				ns.stop(t)
			}
		})
		urls = append(urls, "nats://"+ns.addr)
		logs = append(logs, ns.logPath)
	}
	t.Cleanup(func() { // what the servers said, for a failure
		if t.Failed() {
			for _, f := range logs {
				b, _ := os.ReadFile(f)
				t.Logf("%s, last 3000 bytes:\n%s", f, b[max(0, len(b)-3000):])
			}
		}
	})
	return strings.Join(urls, ",")
}

// ownerJetStream is JetStream through a connection of ledgerd's writer user (which may read and
// manage every stream; the serving user ledgerd may only answer into inboxes), closed at the end
// of the test.
func ownerJetStream(t *testing.T, url, password string) jetstream.JetStream {
	t.Helper()
	owner, err := nats.Connect(url, nats.UserInfo("ledgerd-writer", password), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	js, err := jetstream.New(owner)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// passwordEnv is a getenv that knows only ledgerd's NATS password.
func passwordEnv(password string) func(string) string {
	return func(name string) string {
		if name == "LICLEDGER_NATS_PASSWORD" {
			return password
		}
		return ""
	}
}

func (s *natsServer) start(t *testing.T) {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	s.p = startSubprocess(t, s.bin, s.logPath, s.env, "-c", s.conf, "-a", host, "-p", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening on %s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *natsServer) stop(t *testing.T) {
	t.Helper()
	if err := s.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.p.wait()
}

// TestNATSOutagesLoseNothing runs ledgerd against an external nats-server subprocess under load
// from several clients. NATS is stopped for a while and started again with its store; then it is
// stopped and started with its store deleted, so the stream and the views bucket are gone. Each
// time the ledger reconnects, its outbox republishes what the stream lacks, and the views are
// exported again. At the end the stream equals the log byte for byte: no gap, no duplicate, every
// acknowledged command's event at the sequence its reply named.
func TestNATSOutagesLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server and ledgerd as subprocesses")
	}
	root := t.TempDir()
	ledgerd := buildLedgerd(t)
	data := filepath.Join(root, "data")
	ns, password := externalNATS(t, root, data)
	ns.start(t)
	url := "nats://" + ns.addr
	httpAddr := freeAddr(t)
	ledger := startSubprocess(t, ledgerd, filepath.Join(root, "ledgerd.log"), []string{"LICLEDGER_NATS_PASSWORD=" + password},
		"--data", data, "--nats-url", url, "--http-listen", httpAddr, "--checkpoint-interval", "50ms")
	token := readToken(t, data)
	// The stream and the bucket are read as ledgerd's writer user (partners may not).
	owner, err := nats.Connect(url, nats.UserInfo("ledgerd-writer", password), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	admin := client.New(connect(t, url, token), token)
	admin.Timeout = 2 * time.Second
	lic := setupLicense(t, admin, "natsfault", 1_000_000)

	load := startSeatLoad(t, loadClients(t, url, token, 4, 2*time.Second), 1, lic, "", nil)

	load.more(t, 300, "before any fault")
	ns.stop(t)
	time.Sleep(2 * time.Second) // clients and the ledger retry against a dead server
	ns.start(t)
	load.more(t, 300, "after NATS came back with its store")

	ns.stop(t)
	if err := os.RemoveAll(ns.store); err != nil {
		t.Fatal(err)
	}
	ns.start(t)
	load.more(t, 300, "after NATS came back without its store")
	acked := load.stop()

	// Converged: nothing left to publish, and the views bucket made again and filled.
	deadline := time.Now().Add(60 * time.Second)
	for metric(t, httpAddr, "licledger_publication_lag_events") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the outbox did not catch up after the faults")
		}
		time.Sleep(50 * time.Millisecond)
	}
	js, err := jetstream.New(owner)
	if err != nil {
		t.Fatal(err)
	}
	for {
		kv, err := js.KeyValue(context.Background(), natsapi.ViewsBucket)
		if err == nil {
			if _, err = kv.Get(context.Background(), "license."+lic); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the views bucket was not exported again after NATS lost its store: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	stream := verifyStream(t, js, acked)
	if err := ledger.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ledger.wait(); err != nil {
		t.Fatalf("ledgerd did not stop cleanly: %v", err)
	}
	n := streamEqualsLog(t, data, stream)
	testreport.Line(t, "NATS outages survived: 2 (one with its store deleted), acknowledged commands: %d, events checked: %d, lost: 0", len(acked), n)
}

// streamEqualsLog checks that the stream as read is the whole log of the stopped ledger in data,
// byte for byte, and returns the number of events.
func streamEqualsLog(t *testing.T, data string, stream []streamMsg) int {
	t.Helper()
	log := logBytes(t, filepath.Join(data, "log"))
	for i, e := range log {
		if i >= len(stream) || !bytes.Equal(stream[i].data, e) {
			t.Fatalf("log event %d differs from the stream", i+1)
		}
	}
	if len(log) != len(stream) {
		t.Fatalf("log has %d events, stream %d", len(log), len(stream))
	}
	return len(log)
}

// metric reads one unlabelled value from ledgerd's /metrics.
func metric(t *testing.T, httpAddr, name string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(getMetrics(t, httpAddr)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
