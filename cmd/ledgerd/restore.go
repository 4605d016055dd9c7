package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// importBatch is how many events restore hands the log at a time (one fsync each).
const importBatch = 4096

// restore is `ledgerd restore --from-stream --nats-url URL --keys DIR [--key VKEY] [--data DIR]`:
// it rebuilds a lost data dir's log from the replicated stream LEDGER_EVENTS (a partition's,
// LEDGER_EVENTS_<k>, with --partition k --partitions n), into a data dir without one. Every event is checked before the log is put in place: the stream must hold the
// whole log in order, and its events must reproduce the Merkle tree of the latest checkpoint in
// LEDGER_CHECKPOINTS, whose signature is checked with --key (or, without it, with the verifier key
// of the backed-up signing key). The log is written beside the data dir's log/ and renamed into
// place only once all of that held, so a failed restore leaves nothing a start could serve.
// The read models are rebuilt by the next start.
func restore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var fromStream bool
	var keysDir, vkey string
	cfg, err := parseConfigWith(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&fromStream, "from-stream", false, "restore: read the log from the stream LEDGER_EVENTS on --nats-url")
		fs.StringVar(&keysDir, "keys", "", "restore: a directory holding the lost data dir's key files (a backup: "+strings.Join(datadir.KeyFiles, ", ")+")")
		fs.StringVar(&vkey, "key", getenv("LICLEDGER_CHECKPOINT_KEY"), "restore: the checkpoint verifier key (env LICLEDGER_CHECKPOINT_KEY; default: the backed-up signing key's)")
	})
	if err != nil {
		return err
	}
	switch {
	case !fromStream:
		return errors.New("restore: --from-stream is required (the stream is the only source restore reads)")
	case cfg.NATSURL == "":
		return errors.New("restore: --nats-url is required: the embedded server's stream lives in the data dir that was lost")
	case keysDir == "":
		return errors.New("restore: --keys is required: a directory holding the lost data dir's " + datadir.ServerKeyFile + " (and " + datadir.CheckpointKeyFile + ")")
	case len(cfg.Args) > 0:
		return fmt.Errorf("restore: unexpected argument %q", cfg.Args[0])
	}
	if _, err := os.Stat(filepath.Join(keysDir, datadir.ServerKeyFile)); err != nil {
		return fmt.Errorf("restore: --keys must hold the lost data dir's %s (without it no token or license key issued before validates): %w", datadir.ServerKeyFile, err)
	}
	logDir := filepath.Join(cfg.Data, "log")
	if entries, err := os.ReadDir(logDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("restore: %s holds a log: restore only fills a data dir that lost its log (move it away first)", logDir)
	}
	if vkey == "" {
		if vkey, err = datadir.CheckpointVerifierKey(keysDir); err != nil {
			return fmt.Errorf("restore: no --key, and no signing key to take it from: %w", err)
		}
	}

	// The stream is read through JetStream's API, which only the writer user may use.
	opts := []nats.Option{nats.Name("ledgerd restore"), nats.CustomInboxPrefix(wire.LedgerWriterInboxPrefix)}
	if cfg.NATSPassword != "" {
		opts = append(opts, nats.UserInfo(writerUser(cfg), cfg.NATSPassword))
	}
	nc, err := nats.Connect(cfg.NATSURL, opts...)
	if err != nil {
		return fmt.Errorf("restore: connect %s: %w", cfg.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	checkpoint, beyond, err := restorePoint(ctx, js, cfg.Partition, vkey)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	began := time.Now()
	tmp := logDir + ".restoring"
	defer os.RemoveAll(tmp) // gone already if the restore succeeded
	events, err := importStream(ctx, js, cfg.Partition, tmp, checkpoint)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The keys go in only now: a data dir with a server key and no log would start as a new,
	// empty ledger.
	if err := datadir.RestoreKeys(keysDir, cfg.Data); err != nil {
		return fmt.Errorf("restore: keys: %w", err)
	}
	if err := os.Rename(tmp, logDir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(cfg.Data); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	took := time.Since(began)
	fmt.Fprintf(stdout, "restored %d events from %s into %s in %s; events 1 to %d reproduce checkpoint %d (key %s), the %d after it are in order\n",
		events, cfg.Partition.StreamName(), logDir, took.Round(time.Millisecond), checkpoint.Size, checkpoint.Size, vkey, events-checkpoint.Size)
	if beyond > events {
		fmt.Fprintf(stdout, "the lost ledger signed a checkpoint of %d events, but the stream holds %d: events %d to %d were on its disk only and are lost (with --ack-replicated none of them was acknowledged)\n",
			beyond, events, events+1, beyond)
	}
	return nil
}

// restorePoint picks the checkpoint a restore checks the stream against: the newest one in
// LEDGER_CHECKPOINTS that the stream can reproduce (its size at most the stream's last sequence).
// A newer one covers events the lost ledger signed but never published; its size is returned as
// beyond (0 if there is none). Every checkpoint must verify with vkey: one that does not was not
// made by this ledger.
func restorePoint(ctx context.Context, js jetstream.JetStream, p wire.Partition, vkey string) (use eventstore.Checkpoint, beyond uint64, err error) {
	signed, err := natsstream.Checkpoints(ctx, js, p)
	if err != nil {
		return use, 0, err
	}
	last, err := natsstream.LastEvent(ctx, js, p)
	if err != nil {
		return use, 0, err
	}
	for _, b := range signed {
		c, err := eventstore.OpenCheckpoint(b, vkey)
		if err != nil {
			return use, 0, fmt.Errorf("a checkpoint in %s: %w", p.CheckpointStream(), err)
		}
		switch {
		case c.Size <= last && c.Size > use.Size:
			use = c
		case c.Size > last:
			beyond = max(beyond, c.Size)
		}
	}
	if use.Size == 0 {
		return use, beyond, fmt.Errorf("no checkpoint in %s that the stream %s (%d events) can reproduce (%d checkpoints, the newest covering %d events)",
			p.CheckpointStream(), p.StreamName(), last, len(signed), beyond)
	}
	return use, beyond, nil
}

// importStream reads LEDGER_EVENTS into a new log in dir and checks it against checkpoint. It
// returns how many events it restored.
func importStream(ctx context.Context, js jetstream.JetStream, p wire.Partition, dir string, checkpoint eventstore.Checkpoint) (uint64, error) {
	if err := os.RemoveAll(dir); err != nil { // a restore that did not finish
		return 0, err
	}
	store, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	verifier := eventstore.NewVerifier(checkpoint)
	pending := make([][]byte, 0, importBatch)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := store.Import(ctx, pending)
		pending = pending[:0]
		return err
	}
	add := func(seq uint64, data []byte) error {
		if err := verifier.Add(seq, data); err != nil {
			return err
		}
		pending = append(pending, data)
		if len(pending) == importBatch {
			return flush()
		}
		return nil
	}
	// Read to the stream's end, then again from there until a read finds nothing more: events the
	// lost ledger had sent just before it died may still be landing (a cluster that regained
	// its quorum commits what its leader had taken).
	var last uint64
	for {
		read, err := natsstream.ReadEvents(ctx, js, p, last+1, add)
		if err != nil {
			return 0, err
		}
		if read == last {
			break
		}
		last = read
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if err := verifier.Finish(); err != nil { // the stream ends before the checkpoint: events are missing
		return 0, err
	}
	return last, store.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
