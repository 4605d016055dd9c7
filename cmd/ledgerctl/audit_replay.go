package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/licledger/licledger/client"
)

// replayFlags select events: a range (sequences or RFC 3339 instants) and attributes.
type replayFlags struct {
	from, to, typ, subject, reseller string
	stream                           bool
}

func (f *replayFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.from, "from", "", "first event: a sequence or an RFC 3339 instant")
	fs.StringVar(&f.to, "to", "", "last event: a sequence or an RFC 3339 instant")
	fs.StringVar(&f.typ, "type", "", "only events of this type (e.g. license.suspended.v1)")
	fs.StringVar(&f.subject, "subject", "", "only events about this aggregate id")
	fs.StringVar(&f.reseller, "reseller", "", "only events of this reseller")
	fs.BoolVar(&f.stream, "stream", false, "read the JetStream stream "+eventsStream+" directly instead of the query API (a sequence range only)")
}

func (f replayFlags) filtered() bool { return f.typ != "" || f.subject != "" || f.reseller != "" }

// auditReplay writes the selected events as CloudEvents JSON lines, byte for byte as the ledger
// stored and hashed them, to stdout or (export) to a file.
func auditReplay(ctx context.Context, g global, f replayFlags, out string, stdout, stderr io.Writer) error {
	w := stdout
	var file *os.File
	if out != "" {
		var err error
		if file, err = os.Create(out); err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	c, nc, err := connect(g)
	if err != nil {
		return err
	}
	defer nc.Close()
	// A whole-log export stops at the latest signed checkpoint, which is written next to it, so
	// that `audit verify --file` checks it offline. (A filtered or partial export is not the log
	// from its start and cannot be checked against a checkpoint.)
	var checkpoint []byte
	if file != nil && !f.filtered() && f.from == "" && f.to == "" {
		r, err := query[checkpointResult](ctx, c, "audit.checkpoint", map[string]any{})
		if err != nil {
			return err
		}
		checkpoint, f.to = []byte(r.Checkpoint), strconv.FormatUint(r.TreeSize, 10)
	}
	p := newProgress(stderr, out != "" || !isTerminal(stdout))
	// Beside a whole-log export, its events' record hashes (FILE.hashes): offline, audit verify
	// proves them against the checkpoint and then names the first event the export changed.
	var leaves []byte
	n, err := replay(ctx, g, c, nc, f, func(_ uint64, event []byte) error {
		if checkpoint != nil {
			h := tlog.RecordHash(event)
			leaves = append(leaves, h[:]...)
		}
		bw.Write(event)
		return bw.WriteByte('\n')
	}, p)
	if err == nil {
		err = bw.Flush()
	}
	p.done(n)
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return err
		}
		if checkpoint != nil {
			if err := os.WriteFile(out+".hashes", leaves, 0o644); err != nil {
				return err
			}
			return os.WriteFile(out+".checkpoint", checkpoint, 0o644)
		}
	}
	return nil
}

// replay calls fn for each selected event, in order, with its position (the JetStream stream
// sequence, or 0 from the query API, whose items carry their own).
func replay(ctx context.Context, g global, c *client.Client, nc *nats.Conn, f replayFlags, fn func(position uint64, event []byte) error, p *progress) (uint64, error) {
	if f.stream {
		return replayStream(ctx, g, nc, f, fn, p)
	}
	var n uint64
	body := map[string]any{"from": f.from, "to": f.to, "type": f.typ, "subject": f.subject, "reseller": f.reseller, "limit": 10000}
	for {
		page, err := query[struct {
			Items   []string `json:"items"`
			Next    string   `json:"next"`
			Scanned uint64   `json:"scanned"`
		}](ctx, c, "audit.events", body)
		if err != nil {
			return n, err
		}
		for _, e := range page.Items {
			if err := fn(0, []byte(e)); err != nil {
				return n, err
			}
			n++
		}
		p.at(page.Scanned, n)
		if page.Next == "" {
			return n, nil
		}
		body["from"] = page.Next
	}
}

// replayStream reads LEDGER_EVENTS with an ordered consumer (an auditor's NATS identity may
// do that and nothing else), from the first sequence asked to the stream's last at the start.
func replayStream(ctx context.Context, g global, nc *nats.Conn, f replayFlags, fn func(uint64, []byte) error, p *progress) (uint64, error) {
	if f.filtered() {
		return 0, errors.New("--stream replays a sequence range; filter with the query API (without --stream)")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	st, err := js.Stream(ctx, g.streamName())
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", g.streamName(), err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	first, last := uint64(1), info.State.LastSeq
	if f.from != "" {
		if first, err = strconv.ParseUint(f.from, 10, 64); err != nil {
			return 0, errors.New("--stream takes --from as a sequence")
		}
	}
	if f.to != "" {
		to, err := strconv.ParseUint(f.to, 10, 64)
		if err != nil {
			return 0, errors.New("--stream takes --to as a sequence")
		}
		last = min(last, to)
	}
	if first > last {
		return 0, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: first})
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages()
	if err != nil {
		return 0, err
	}
	defer it.Stop()
	var n uint64
	for {
		msg, err := it.Next()
		if err != nil {
			return n, err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return n, err
		}
		if meta.Sequence.Stream > last {
			return n, nil
		}
		if err := fn(meta.Sequence.Stream, msg.Data()); err != nil {
			return n, err
		}
		n++
		p.at(meta.Sequence.Stream, n)
		if meta.Sequence.Stream == last {
			return n, nil
		}
	}
}
