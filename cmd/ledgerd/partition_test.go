package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/internal/testreport"
	"github.com/licledger/licledger/wire"
)

// TestPartitionsLoseNothing runs a ledger split by reseller into two partitions, each a ledgerd
// with --replicas 3 --ack-replicated, on a three-node cluster from deploy/nats-cluster.conf with
// its mapping set to two partitions. Partition 0 decides the product and plan (unaddressed);
// partition 1 copies them from partition 0's stream and licenses its own reseller against them.
// Under load on both partitions, one NATS node is SIGKILLed and restarted; then partition 1's
// ledgerd is SIGKILLed while partition 0 keeps acknowledging, its data dir is deleted and restored
// from LEDGER_EVENTS_1 and LEDGER_CHECKPOINTS_1, and it serves again. Nothing acknowledged by
// either partition is lost, each partition's stream equals its log, each log verifies against its
// own signed checkpoints, and a system admin's usage.summary sums both partitions.
func TestPartitionsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server and ledgerd as subprocesses")
	}
	root := t.TempDir()
	ledgerd := buildLedgerd(t)
	data := []string{filepath.Join(root, "data0"), filepath.Join(root, "data1")}
	backup := filepath.Join(root, "keys1")
	d := prepareNATS(t, root, data[0])
	nodes := natsCluster(t, d, root)
	for _, ns := range nodes {
		b, err := os.ReadFile(ns.conf)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(b, []byte("partition(1,3)")) != 2 {
			t.Fatal("deploy/nats-cluster.conf no longer maps commands and queries with partition(1,3)")
		}
		if err := os.WriteFile(ns.conf, bytes.ReplaceAll(b, []byte("partition(1,3)"), []byte("partition(2,3)")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	url := startNATS(t, nodes, filepath.Join(root, "ledgerd-0.log"), filepath.Join(root, "ledgerd-1.log"))
	env, getenv := []string{"LICLEDGER_NATS_PASSWORD=" + d.password}, passwordEnv(d.password)
	partitionArgs := func(k int) []string {
		return []string{"--data", data[k], "--nats-url", url, "--partition", strconv.Itoa(k), "--partitions", "2"}
	}
	start := func(k int) (*process, string) {
		httpAddr := freeAddr(t)
		noteMetricsReader(httpAddr, data[0]) // partition 0's admin is every partition's
		return startSubprocess(t, ledgerd, filepath.Join(root, fmt.Sprintf("ledgerd-%d.log", k)), env, append(partitionArgs(k),
			"--http-listen", httpAddr, "--checkpoint-interval", "50ms", "--replicas", "3", "--ack-replicated", "true")...), httpAddr
	}

	p0, http0 := start(0)
	token := readToken(t, data[0])
	// Partition 1 needs partition 0's keys before its first start.
	if err := run(t.Context(), partitionArgs(1), getenv, io.Discard); err == nil || !strings.Contains(err.Error(), datadir.ServerKeyFile) {
		t.Fatalf("partition 1 without partition 0's keys: %v, want it refused", err)
	}
	copyKeys(t, data[0], data[1], datadir.ServerKeyFile, datadir.CalloutIssuerFile)
	p1, http1 := start(1)
	copyKeys(t, data[1], backup, datadir.KeyFiles...) // the operator's backup of partition 1's keys
	if _, err := os.Stat(filepath.Join(data[1], handlers.BootstrapTokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partition 1 bootstrapped an administrator of its own: %v", err)
	}

	nc := connect(t, url, token)
	admin := client.New(nc, token)
	admin.Timeout = 5 * time.Second
	// Partition 1 knows the system admin once it has copied partition 0's credentials. Wait for
	// the copy in partition 1's own stream first: every request it refuses meanwhile counts as a
	// failed login of the token, and 20 of them would lock it out for a minute.
	js1 := ownerJetStream(t, url, d.password)
	stream1 := wire.Partition{Index: 1, Count: 2}.StreamName()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if s, err := js1.Stream(t.Context(), stream1); err == nil {
			if info, err := s.Info(t.Context()); err == nil && info.State.LastSeq >= 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition 1 copied nothing of partition 0's system data into %s", stream1)
		}
	}
	toOne := client.New(nc, token)
	toOne.Timeout, toOne.Partition = 5*time.Second, "1"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Second) {
		_, err := toOne.Query(t.Context(), "role.show", map[string]any{"role": "support-agent"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition 1 does not know partition 0's system admin: %v", err)
		}
	}
	command := func(c *client.Client, name string, body map[string]any) {
		t.Helper()
		if _, err := c.Command(t.Context(), name, body, ""); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// System-wide data is unaddressed: partition 0 decides it.
	command(admin, "product.create", map[string]any{"id": "p", "name": "Product"})
	command(admin, "plan.create", map[string]any{"id": "plan", "productId": "p", "name": "Plan", "tier": 1, "seats": 1_000_000})
	resellers := []string{resellerIn(0, 2), resellerIn(1, 2)}
	addressed := make([]*client.Client, 2)
	var keys []string // each reseller's license key
	for k, r := range resellers {
		addressed[k] = client.New(nc, token)
		addressed[k].Timeout, addressed[k].Reseller = 5*time.Second, r
		command(addressed[k], "reseller.create", map[string]any{"id": r, "name": "Reseller " + r})
		command(addressed[k], "tenant.create", map[string]any{"id": r + "-t", "resellerId": r, "name": "Acme"})
		// Partition 1 knows the plan once it has copied it from partition 0's stream.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			created, err := addressed[k].Command(t.Context(), "license.create", map[string]any{"id": r + "-l", "resellerId": r, "tenantId": r + "-t", "planId": "plan"}, "lic-"+r)
			var refused *client.Error
			if err == nil {
				var lic struct{ Key string }
				if err := json.Unmarshal(created.Result, &lic); err != nil || lic.Key == "" {
					t.Fatalf("license.create reply %s", created.Raw)
				}
				keys = append(keys, lic.Key)
				break
			}
			if !errors.As(err, &refused) || refused.Code != "PLAN_NOT_FOUND" || time.Now().After(deadline) {
				t.Fatalf("license.create for %s: %v", r, err)
			}
		}
	}
	// Each partition's data goes only where it belongs: a reseller's commands are addressed
	// (partition 0 refuses one unaddressed, or, for a reseller it does not know, says where to
	// send it), system-wide commands are not, and a request published straight to the partition
	// that does not own its reseller is refused there.
	_, err := admin.Command(t.Context(), "tenant.create", map[string]any{"id": "x-t", "resellerId": resellers[0], "name": "X"}, "")
	wantCode(t, err, 400, string(handlers.CodeMisaddressed))
	_, err = admin.Command(t.Context(), "tenant.create", map[string]any{"id": "x-t", "resellerId": resellers[1], "name": "X"}, "")
	if e := wantCode(t, err, 404, "RESELLER_NOT_FOUND"); !strings.Contains(e.Message, "address") {
		t.Fatalf("an unaddressed command for partition 1's reseller: %q does not say to address it", e.Message)
	}
	_, err = addressed[1].Command(t.Context(), "product.create", map[string]any{"id": "p2", "name": "P2"}, "")
	wantCode(t, err, 400, string(handlers.CodeMisaddressed))
	_, err = admin.Request(t.Context(), "ledger.v1.p.0.cmd.tenant.create."+resellers[1], map[string]any{"id": "x-t", "resellerId": resellers[1], "name": "X"}, "")
	wantCode(t, err, 400, string(handlers.CodeMisaddressed))

	// An app validates its key anonymously, unaddressed (partition 0 asks the others for a key it
	// does not know) or addressed to its reseller; a key nobody knows is NOT_FOUND.
	anonNC, err := client.Connect(url, "", nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer anonNC.Close()
	validate := func(reseller, key string) string {
		t.Helper()
		c := client.New(anonNC, "")
		c.Reseller = reseller
		raw, err := c.Query(t.Context(), "license.validate", map[string]string{"key": key})
		if err != nil {
			t.Fatalf("license.validate (addressed to %q): %v", reseller, err)
		}
		var v struct{ Code string }
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return v.Code
	}
	for k, key := range keys {
		if unaddressed, addressedTo := validate("", key), validate(resellers[k], key); unaddressed != "VALID" || addressedTo != "VALID" {
			t.Fatalf("partition %d's license key: %s unaddressed, %s addressed", k, unaddressed, addressedTo)
		}
	}
	if code := validate("", "LL-NOT-A-KEY"); code != "NOT_FOUND" {
		t.Fatalf("an unknown key: %s", code)
	}

	// A reseller admin of partition 1's reseller connects through the auth callout, which both
	// partitions are asked: only partition 1 knows the token, and partition 0 must not answer
	// first with a refusal (each connection is a new race, which partition 0 won in two of three
	// runs of 5 connections when it did answer refusals). Its addressed queries reach it.
	_, resellerToken := issueCredential(t, addressed[1], map[string]any{"role": "reseller-admin", "scope": map[string]string{"resellerId": resellers[1]}})
	for i := range 20 {
		rnc := connect(t, url, resellerToken)
		rc := client.New(rnc, resellerToken)
		rc.Reseller = resellers[1]
		if u := quota(t, rc, resellers[1]+"-l"); u.Seats != 1_000_000 {
			t.Fatalf("connection %d of partition 1's reseller admin: quota %+v", i, u)
		}
		rnc.Close()
	}

	// An auditor is a system credential: partition 0 issues it, and every partition copies it.
	_, auditorToken := issueCredential(t, admin, map[string]any{"role": "auditor"})

	loads := make([]*seatLoad, 2)
	clients := make([][]*client.Client, 2)
	for k, r := range resellers {
		clients[k] = loadClients(t, url, token, 2, 5*time.Second)
		for _, c := range clients[k] {
			c.Reseller = r
		}
		loads[k] = startSeatLoad(t, clients[k], 2, r+"-l", "", nil)
	}
	more := func(n int, what string) {
		for k, l := range loads {
			l.more(t, n, fmt.Sprintf("partition %d, %s", k, what))
		}
	}
	more(300, "before any fault")
	killed := nodes[1]
	if err := killed.p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.p.wait()
	more(200, "with one NATS node killed")
	killed.start(t)
	more(200, "after the NATS node came back")

	// Partition 1's ledgerd dies, with no wait for anything; partition 0 goes on without it.
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p1.wait()
	acked1 := loads[1].stop()
	loads[0].more(t, 200, "partition 0 while partition 1 is down")
	original := logBytes(t, filepath.Join(data[1], "log"))
	if err := os.RemoveAll(data[1]); err != nil {
		t.Fatal(err)
	}
	js := ownerJetStream(t, url, d.password)
	part1 := wire.Partition{Index: 1, Count: 2}
	waitStreamNamedSettled(t, js, part1.StreamName())
	var out bytes.Buffer
	if err := restore(t.Context(), append(partitionArgs(1), "--from-stream", "--keys", backup), getenv, &out, io.Discard); err != nil {
		t.Fatalf("restore partition 1: %v", err)
	}
	t.Log(strings.TrimSpace(out.String()))
	restored := logBytes(t, filepath.Join(data[1], "log"))
	if len(restored) > len(original) {
		t.Fatalf("restored %d events, the lost log had %d", len(restored), len(original))
	}
	for i := range restored {
		if !bytes.Equal(restored[i], original[i]) {
			t.Fatalf("event %d differs from the lost log's", i+1)
		}
	}
	p1, http1 = start(1)
	loads[1] = startSeatLoad(t, clients[1], 1, resellers[1]+"-l", "after-", nil)
	loads[1].more(t, 100, "partition 1 after its restore")
	acked1 = append(acked1, loads[1].stop()...)
	acked0 := loads[0].stop()

	// Every acknowledged command is in its partition's stream, at its sequence; the read models
	// agree; and a system admin's totals are both partitions'.
	acked := [][]ack{acked0, acked1}
	httpAddrs := []string{http0, http1}
	streams := make([][]streamMsg, 2)
	registered := make([]int, 2)
	for k := range 2 {
		part := wire.Partition{Index: k, Count: 2}
		for deadline := time.Now().Add(30 * time.Second); metric(t, httpAddrs[k], "licledger_publication_lag_events") != 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("partition %d did not publish its log", k)
			}
		}
		waitStreamNamedSettled(t, js, part.StreamName())
		streams[k] = verifyStreamNamed(t, js, part.StreamName(), acked[k])
		verifyReadModel(t, addressed[k], resellers[k]+"-l", streams[k])
		registered[k] = countRegistrations(t, streams[k])
	}
	raw, err := admin.Query(t.Context(), "usage.summary", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var sums struct {
		Total      struct{ Active, Licenses int }
		ByReseller map[string]struct{ Active int }
	}
	if err := json.Unmarshal(raw, &sums); err != nil {
		t.Fatal(err)
	}
	if sums.Total.Active != registered[0]+registered[1] || sums.Total.Licenses != 2 ||
		sums.ByReseller[resellers[0]].Active != registered[0] || sums.ByReseller[resellers[1]].Active != registered[1] {
		t.Fatalf("usage.summary across partitions: %+v; the streams have %v registrations", sums, registered)
	}
	// A sequence names a place in one partition's log: a system-wide summary as of one is refused.
	_, err = admin.Query(t.Context(), "usage.summary", map[string]any{"asOf": "5"})
	if e := wantCode(t, err, 400, "INVALID_ARGUMENT"); e.Field != "asOf" {
		t.Fatalf("usage.summary asOf a sequence: field %q", e.Field)
	}
	// Any partition's HTTP query API gives the same totals.
	req, err := http.NewRequest(http.MethodPost, "http://"+http1+"/v1/usage.summary", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var viaHTTP struct {
		Result struct{ Total struct{ Active int } }
	}
	err = json.NewDecoder(resp.Body).Decode(&viaHTTP)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || viaHTTP.Result.Total.Active != sums.Total.Active {
		t.Fatalf("partition 1's HTTP usage.summary: %d %+v %v; want %d active", resp.StatusCode, viaHTTP, err, sums.Total.Active)
	}

	// An auditor verifies each partition's own history: its stream, against its latest checkpoint
	// (asked of that partition), with its own key.
	ctl := buildLedgerctl(t)
	for k := range 2 {
		out, err := exec.Command(ctl, "--nats-url", url, "--token", auditorToken, "--partition", strconv.Itoa(k),
			"audit", "verify", "--stream", "--key", mustVerifierKey(t, data[k])).CombinedOutput()
		// The last line is the verdict (a slow replay prints progress lines before it).
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || !strings.HasPrefix(lines[len(lines)-1], "verified: ") {
			t.Fatalf("ledgerctl --partition %d audit verify --stream: %v\n%s", k, err, out)
		}
	}

	for k, p := range []*process{p0, p1} {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.wait(); err != nil {
			t.Fatalf("partition %d did not stop cleanly: %v", k, err)
		}
	}
	events := make([]int, 2)
	for k := range 2 {
		events[k] = streamEqualsLog(t, data[k], streams[k])
		verifyPartitionTree(t, js, wire.Partition{Index: k, Count: 2}, data[k])
	}
	// Partition 1's log holds partition 0's system-wide events, the same data.
	copies := systemEvents(t, logBytes(t, filepath.Join(data[1], "log")))
	if originals := systemEvents(t, logBytes(t, filepath.Join(data[0], "log"))); !slices.Equal(copies, originals) || len(copies) < 3 {
		t.Fatalf("partition 1 holds the system-wide events %q; partition 0 decided %q", copies, originals)
	}
	testreport.Line(t, "2 partitions on a 3-node NATS cluster, --ack-replicated: a NATS node SIGKILLed under load and restarted, partition 1's ledgerd SIGKILLed and its data dir restored from LEDGER_EVENTS_1: acknowledged commands %d + %d, lost: 0, streams equal logs: %d + %d events, both trees verify",
		len(acked0), len(acked1), events[0], events[1])
}

// resellerIn returns a reseller id that partition(n,3) maps to partition k: NATS hashes the
// token with FNV-1a, modulo n.
func resellerIn(k, n int) string {
	for i := 0; ; i++ {
		id := fmt.Sprintf("res-%d", i)
		h := fnv.New32a()
		h.Write([]byte(id))
		if int(h.Sum32()%uint32(n)) == k {
			return id
		}
	}
}

// copyKeys copies the named files that exist from one directory to another.
func copyKeys(t *testing.T, from, to string, files ...string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// countRegistrations counts the seat registrations in a stream.
func countRegistrations(t *testing.T, msgs []streamMsg) int {
	t.Helper()
	n := 0
	for _, m := range msgs {
		env, err := eventstore.DecodeEnvelope(m.data)
		if err != nil {
			t.Fatal(err)
		}
		if env.Type == "seat.registered.v1" {
			n++
		}
	}
	return n
}

// systemEvents lists the system-wide events of a log as "<type> <data>".
func systemEvents(t *testing.T, log [][]byte) []string {
	t.Helper()
	var out []string
	for _, b := range log {
		env, err := eventstore.DecodeEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		if env.Reseller == "" {
			out = append(out, env.Type+" "+string(env.Data))
		}
	}
	return out
}

// verifyPartitionTree checks the stopped partition's log in data against every checkpoint it
// stored and the newest one in its checkpoint stream, with its own verifier key.
func verifyPartitionTree(t *testing.T, js jetstream.JetStream, part wire.Partition, data string) {
	t.Helper()
	vkey := mustVerifierKey(t, data)
	store, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	checkpoints, err := store.StoredCheckpoints(vkey)
	if err != nil {
		t.Fatal(err)
	}
	published, err := natsstream.Checkpoints(context.Background(), js, part)
	if err != nil || len(published) == 0 {
		t.Fatalf("%s: %d checkpoints (%v)", part.CheckpointStream(), len(published), err)
	}
	newest, err := eventstore.OpenCheckpoint(published[len(published)-1], vkey)
	if err != nil {
		t.Fatalf("%s: %v", part.CheckpointStream(), err)
	}
	v := eventstore.NewVerifier(append(checkpoints, newest)...)
	if err := store.VerifyLog(v, nil); err != nil {
		t.Fatalf("%s: %v", part, err)
	}
}

// TestCalloutIsAnsweredOnce runs three partitions on one nats-server from
// deploy/nats-server.conf and connects twenty times with the system admin's token, which every
// partition holds, and twenty times anonymously. nats-server takes exactly one answer per auth
// callout, and a third blocks the read loop that carried it for good (NATSCallout.Serve): here,
// one of the ledgerds' connections, whose publications would then stall, and the server would
// not stop. So afterwards every partition must still publish (each copies a new product from
// partition 0 into its stream) and the server must stop on SIGTERM.
func TestCalloutIsAnsweredOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server and ledgerd as subprocesses")
	}
	root := t.TempDir()
	ledgerd := buildLedgerd(t)
	d := prepareNATS(t, root, filepath.Join(root, "data0"))
	ns := d.server(t, root, "nats-server.conf", "nats")
	var logs []string
	for k := range 3 {
		logs = append(logs, filepath.Join(root, fmt.Sprintf("ledgerd-%d.log", k)))
	}
	url := startNATS(t, []*natsServer{ns}, logs...)
	for k := range 3 {
		data := filepath.Join(root, fmt.Sprintf("data%d", k))
		if k > 0 {
			copyKeys(t, filepath.Join(root, "data0"), data, datadir.ServerKeyFile, datadir.CalloutIssuerFile)
		}
		startSubprocess(t, ledgerd, logs[k], []string{"LICLEDGER_NATS_PASSWORD=" + d.password},
			"--data", data, "--nats-url", url, "--http-listen", freeAddr(t), "--partition", strconv.Itoa(k), "--partitions", "3")
	}
	token := readToken(t, filepath.Join(root, "data0"))
	for range 20 {
		for _, tok := range []string{token, ""} {
			nc, err := client.Connect(url, tok, nats.Timeout(10*time.Second))
			if err != nil {
				t.Fatalf("connect (token %v): %v", tok != "", err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			nc.Close()
		}
	}
	admin := client.New(connect(t, url, token), token)
	if _, err := admin.Command(t.Context(), "product.create", map[string]any{"id": "after-the-logins", "name": "P"}, ""); err != nil {
		t.Fatal(err)
	}
	js := ownerJetStream(t, url, d.password)
	for k := range 3 {
		stream := wire.Partition{Index: k, Count: 3}.StreamName()
		for deadline := time.Now().Add(15 * time.Second); !holdsProduct(t, js, stream, "after-the-logins"); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never got the product made after the logins: partition %d no longer publishes", stream, k)
			}
		}
	}
	if err := ns.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ns.p.exited:
	case <-time.After(15 * time.Second):
		_ = ns.p.cmd.Process.Kill()
		t.Fatal("nats-server did not stop within 15 s of SIGTERM")
	}
}

// holdsProduct reports whether the stream holds the creation of product id.
func holdsProduct(t *testing.T, js jetstream.JetStream, stream, id string) bool {
	t.Helper()
	for _, m := range readStreamNamed(t, js, stream) {
		env, err := eventstore.DecodeEnvelope(m.data)
		if err != nil {
			t.Fatal(err)
		}
		if env.Type == "product.created.v1" && bytes.Contains(env.Data, []byte(`"id":"`+id+`"`)) {
			return true
		}
	}
	return false
}
