package natsstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/wire"
)

// CheckpointSubject is where ledgerd publishes each signed checkpoint of the log, as it is signed
// (the note's text, exactly). Auditors subscribe to it.
const CheckpointSubject = wire.CheckpointSubject

// CheckpointStream keeps the checkpoints published on CheckpointSubject. The log keeps its own,
// but a lost data dir loses them with it: a log restored from LEDGER_EVENTS is checked against
// the latest one kept here (and its signature against a key the operator holds).
const CheckpointStream = wire.CheckpointStream

// CheckpointConfig is the partition's checkpoint stream (CheckpointStream unpartitioned);
// replicas as for Config. Only the latest checkpoint is needed to check a restore (its tree covers
// every event before it); the last thousand are kept for whoever wants to look back.
func CheckpointConfig(p wire.Partition, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        p.CheckpointStream(),
		Description: "licledger: the signed checkpoints of the log's Merkle tree, newest last, " + p.String(),
		Subjects:    []string{p.CheckpointSubject()},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     1000,
		Discard:     jetstream.DiscardOld,
		Replicas:    max(replicas, 1),
		DenyDelete:  true,
		DenyPurge:   true,
	}
}

// PublishCheckpoint publishes a signed checkpoint on the partition's CheckpointSubject and waits
// for its CheckpointStream to store it, making the stream first if it is missing (NATS may have
// lost its store since the last one).
func PublishCheckpoint(ctx context.Context, js jetstream.JetStream, p wire.Partition, replicas int, signed []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := js.Publish(ctx, p.CheckpointSubject(), signed)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		if _, err = js.CreateOrUpdateStream(ctx, CheckpointConfig(p, replicas)); err == nil {
			_, err = js.Publish(ctx, p.CheckpointSubject(), signed)
		}
	}
	if err != nil {
		return fmt.Errorf("jetstream: publish checkpoint: %w", err)
	}
	return nil
}

// Checkpoints returns the signed checkpoints the partition's CheckpointStream holds, oldest first
// (none if the stream does not exist).
func Checkpoints(ctx context.Context, js jetstream.JetStream, p wire.Partition) ([][]byte, error) {
	s, info, err := stream(ctx, js, p.CheckpointStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		var m *jetstream.RawStreamMsg
		err := retrying(ctx, func() (err error) { m, err = s.GetMsg(ctx, seq); return err })
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jetstream: checkpoint message %d: %w", seq, err)
		}
		out = append(out, m.Data)
	}
	return out, nil
}

// LastEvent returns the last sequence the partition's stream holds.
func LastEvent(ctx context.Context, js jetstream.JetStream, p wire.Partition) (uint64, error) {
	_, info, err := stream(ctx, js, p.StreamName())
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// stream opens the stream name with its state, retrying while the cluster settles.
func stream(ctx context.Context, js jetstream.JetStream, name string) (jetstream.Stream, *jetstream.StreamInfo, error) {
	var s jetstream.Stream
	if err := retrying(ctx, func() (err error) { s, err = js.Stream(ctx, name); return err }); err != nil {
		return nil, nil, fmt.Errorf("jetstream: stream %s: %w", name, err)
	}
	return s, s.CachedInfo(), nil // js.Stream has just read it
}

// settleTime is how long retrying retries.
const settleTime = 30 * time.Second

// retrying calls f until it succeeds, fails for a reason other than the cluster being briefly
// unable to answer (a timeout, no responders: a stream electing its leader, a node that just came
// back catching up), ctx ends, or settleTime has passed. It returns f's last error.
func retrying(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(settleTime)
	for {
		err := f()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) ||
			!(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders)) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ReadEvents reads the partition's stream (LEDGER_EVENTS unpartitioned) from sequence from to the last message it holds when called, in
// order, and hands each to fn with its stream sequence (which is its ledger sequence). A stream
// that no longer holds from, or skips a sequence, is an error: it is not the whole log. It returns
// the last sequence read (from-1 if the stream holds nothing from there), and stops at fn's first
// error.
func ReadEvents(ctx context.Context, js jetstream.JetStream, p wire.Partition, from uint64, fn func(seq uint64, data []byte) error) (uint64, error) {
	read := from - 1
	name := p.StreamName()
	s, info, err := stream(ctx, js, name)
	if err != nil {
		return read, err
	}
	last := info.State.LastSeq
	if last < from {
		return read, nil
	}
	if info.State.FirstSeq > from {
		return read, fmt.Errorf("jetstream: stream %s starts at sequence %d, after %d: it no longer holds the whole log", name, info.State.FirstSeq, from)
	}
	var c jetstream.Consumer
	if err := retrying(ctx, func() (err error) {
		c, err = s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from})
		return err
	}); err != nil {
		return read, fmt.Errorf("jetstream: consumer: %w", err)
	}
	for read < last {
		// An ordered consumer is made (and made again) by a fetch, which a stream electing its
		// leader, or a node that just came back, may leave unanswered for a moment: such a fetch
		// is tried again, and the consumer goes on after the last message it delivered.
		got := 0
		err := retrying(ctx, func() error {
			batch, err := c.Fetch(int(min(last-read, 4096)), jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				return fmt.Errorf("jetstream: fetch after %d: %w", read, err)
			}
			for m := range batch.Messages() {
				got++
				meta, err := m.Metadata()
				if err != nil {
					return fmt.Errorf("jetstream: message after %d: %v", read, err)
				}
				if seq := meta.Sequence.Stream; seq != read+1 {
					return fmt.Errorf("jetstream: stream %s skips from sequence %d to %d", name, read, seq)
				}
				if err := fn(read+1, m.Data()); err != nil {
					return err
				}
				read++
			}
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
				return fmt.Errorf("jetstream: fetch after %d: %w", read, err)
			}
			return nil
		})
		if err != nil {
			return read, err
		}
		if got == 0 {
			if err := ctx.Err(); err != nil {
				return read, err
			}
			return read, fmt.Errorf("jetstream: stream %s delivered nothing after sequence %d of %d", name, read, last)
		}
	}
	return read, nil
}
