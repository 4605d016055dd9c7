package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// checkPartitionKeys refuses to start a partition other than 0 on a data dir without partition
// 0's server key: the partitions share the system credentials, whose token hashes are keyed with
// it, and a partition that made a key of its own would accept none of them. (The auth callout's
// issuer seed must be partition 0's too, or the cluster refuses its answers; that one it cannot
// check, so the warning at the start names it.)
func checkPartitionKeys(cfg config) error {
	if cfg.Partition.Index == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, datadir.ServerKeyFile)); err != nil {
		return fmt.Errorf("partition %d: the data dir must hold partition 0's %s and %s before the first start (copy them from partition 0's data dir): %w",
			cfg.Partition.Index, datadir.ServerKeyFile, datadir.CalloutIssuerFile, err)
	}
	return nil
}

// copySystemData copies partition 0's system-wide events (products, plans, system credentials;
// the subjects ledger.v1.p.0.evt._.>) into this partition's log as they appear in partition 0's
// stream, until ctx ends. It starts after the last sequence it noted as copied, and starts again
// from there a second after the consumer fails (partition 0's stream not made yet, a NATS node
// restarting). The note is written without an fsync, so after a crash some events are copied
// again: a copy made twice is applied once.
func copySystemData(ctx context.Context, js jetstream.JetStream, ledger *handlers.Ledger, part wire.Partition, log *slog.Logger) {
	source := wire.Partition{Index: 0, Count: part.Count}
	for ctx.Err() == nil {
		from := uint64(1)
		if last, err := ledger.CopiedThrough(); err == nil {
			from = last + 1
		}
		err := copySystemDataFrom(ctx, js, ledger, source, from)
		if ctx.Err() != nil {
			return
		}
		log.Warn("copying partition 0's system-wide data; retrying", "from", from, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// copySystemDataFrom follows source's system-wide events from sequence from until ctx ends or the
// consumer fails.
func copySystemDataFrom(ctx context.Context, js jetstream.JetStream, ledger *handlers.Ledger, source wire.Partition, from uint64) error {
	s, err := js.Stream(ctx, source.StreamName())
	if err != nil {
		return err
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{source.SystemSubjects()},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from})
	if err != nil {
		return err
	}
	msgs, err := c.Messages()
	if err != nil {
		return err
	}
	defer msgs.Stop()
	// Next does not take ctx: stopping the iterator ends it. (A goroutine waiting on ctx would
	// outlive this call, one more for every retry.)
	defer context.AfterFunc(ctx, msgs.Stop)()
	for {
		m, err := msgs.Next()
		if err != nil {
			return err
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		if err := ledger.CopySystemEvent(ctx, seq, m.Data()); err != nil {
			return err
		}
		if err := ledger.NoteCopiedThrough(seq); err != nil {
			return fmt.Errorf("note copied sequence %d: %w", seq, err)
		}
	}
}
