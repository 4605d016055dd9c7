package natsstream_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/wire"
)

func TestPartitionNames(t *testing.T) {
	for _, c := range []struct {
		p                                       wire.Partition
		stream, subject, checkpoints, cpSubject string
	}{
		{wire.Partition{}, "LEDGER_EVENTS", "ledger.v1.evt.r1.l1.seat.registered.v1", "LEDGER_CHECKPOINTS", "ledger.v1.checkpoint"},
		{wire.Partition{Index: 0, Count: 1}, "LEDGER_EVENTS", "ledger.v1.evt.r1.l1.seat.registered.v1", "LEDGER_CHECKPOINTS", "ledger.v1.checkpoint"},
		{wire.Partition{Index: 2, Count: 4}, "LEDGER_EVENTS_2", "ledger.v1.p.2.evt.r1.l1.seat.registered.v1", "LEDGER_CHECKPOINTS_2", "ledger.v1.p.2.checkpoint"},
	} {
		if got := c.p.StreamName(); got != c.stream {
			t.Errorf("%v: stream %q, want %q", c.p, got, c.stream)
		}
		if got := c.p.Subject("r1", "l1", "seat.registered.v1"); got != c.subject {
			t.Errorf("%v: subject %q, want %q", c.p, got, c.subject)
		}
		if got := c.p.CheckpointStream(); got != c.checkpoints {
			t.Errorf("%v: checkpoint stream %q, want %q", c.p, got, c.checkpoints)
		}
		if got := c.p.CheckpointSubject(); got != c.cpSubject {
			t.Errorf("%v: checkpoint subject %q, want %q", c.p, got, c.cpSubject)
		}
		if cfg := natsstream.StreamConfig(c.p, 3); cfg.Name != c.stream || cfg.Subjects[0] != c.p.SubjectPrefix()+">" || cfg.Replicas != 3 {
			t.Errorf("%v: stream config %+v", c.p, cfg)
		}
		if cfg := natsstream.CheckpointConfig(c.p, 1); cfg.Name != c.checkpoints || cfg.Subjects[0] != c.cpSubject {
			t.Errorf("%v: checkpoint stream config %+v", c.p, cfg)
		}
	}
	if got := (wire.Partition{Index: 1, Count: 2}).SystemSubjects(); got != "ledger.v1.p.1.evt._.>" {
		t.Errorf("system subjects %q", got)
	}
}

// TestPartitionOwnsWhatNATSMapsToIt runs nats-server with the mappings of
// deploy/nats-cluster.conf, set to three partitions, and checks that every reseller's addressed
// command and query reach the partition that Owns says owns it.
func TestPartitionOwnsWhatNATSMapsToIt(t *testing.T) {
	shipped, err := os.ReadFile("../../deploy/nats-cluster.conf")
	if err != nil {
		t.Fatal(err)
	}
	mappings := regexp.MustCompile(`(?s)\nmappings: \{.*?\n\}`).Find(shipped)
	if mappings == nil {
		t.Fatal("deploy/nats-cluster.conf has no mappings block")
	}
	conf := filepath.Join(t.TempDir(), "nats.conf")
	text := "listen: 127.0.0.1:-1\n" + strings.ReplaceAll(string(mappings), "partition(1,3)", "partition(3,3)")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("ledger.v1.p.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for i := range 60 {
		reseller := fmt.Sprintf("reseller-%d", i)
		for _, kind := range []string{"cmd.seat.register", "q.usage.quota"} {
			if err := nc.Publish("ledger.v1."+kind+"."+reseller, nil); err != nil {
				t.Fatal(err)
			}
			m, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			tokens := strings.Split(m.Subject, ".")
			k, err := strconv.Atoi(tokens[3])
			if err != nil || strings.Join(tokens[4:], ".") != kind+"."+reseller {
				t.Fatalf("%s mapped to %s", kind, m.Subject)
			}
			seen[k] = true
			for p := range 3 {
				if owns := (wire.Partition{Index: p, Count: 3}).Owns(reseller); owns != (p == k) {
					t.Fatalf("%s: NATS maps it to partition %d, but partition %d says it owns it: %v", reseller, k, p, owns)
				}
			}
		}
	}
	if len(seen) != 3 {
		t.Fatalf("60 resellers reached partitions %v only", seen)
	}
}
