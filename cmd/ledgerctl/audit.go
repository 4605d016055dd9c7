package main

// ledgerctl audit: an auditor's tools. Everything that says "verified" checked it with the
// ledger's public checkpoint key alone (--key, or LICLEDGER_CHECKPOINT_KEY), never with anything
// the server says about itself.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
)

const (
	checkpointKeyFile = "checkpoint-signing.key" // as ledgerd names it in its data dir
	eventsStream      = "LEDGER_EVENTS"
)

func runAudit(ctx context.Context, g global, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("audit needs a verb: key, checkpoint, prove, consistency, events, replay, export or verify")
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("audit "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", getenv("LICLEDGER_CHECKPOINT_KEY"), "the ledger's checkpoint verifier key (env LICLEDGER_CHECKPOINT_KEY)")
	switch verb {
	case "key":
		data := fs.String("data", "", "read the key from this data dir (offline) instead of asking the ledger")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return auditKey(ctx, g, *data, stdout, stderr)
	case "prove":
		seq := fs.Uint64("sequence", 0, "the event's sequence")
		id := fs.String("event", "", "the event's id")
		size := fs.Uint64("tree-size", 0, "prove against the checkpoint at or above this size (default: the latest)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return auditProve(ctx, g, *key, *seq, *id, *size, stdout)
	case "consistency":
		from := fs.String("from", "", "the older checkpoint: a file holding it, or a tree size")
		to := fs.Uint64("to", 0, "the newer checkpoint's size (default: the latest)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return auditConsistency(ctx, g, *key, *from, *to, stdout)
	case "replay", "export":
		var f replayFlags
		f.register(fs)
		out := ""
		if verb == "export" {
			fs.StringVar(&out, "out", "", "the file to write (required)")
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		if verb == "export" && out == "" {
			return errors.New("audit export needs --out FILE")
		}
		return auditReplay(ctx, g, f, out, stdout, stderr)
	case "verify":
		data := fs.String("data", "", "verify a data dir (ledgerd stopped, or a copy), opened read-only")
		file := fs.String("file", "", "verify an export file (CloudEvents JSON lines)")
		stream := fs.Bool("stream", false, "verify a replay of the JetStream stream "+eventsStream+" (with --partition k, LEDGER_EVENTS_<k>)")
		checkpoint := fs.String("checkpoint", "", "a file holding a signed checkpoint to check against (besides the data dir's own or the ledger's latest)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return auditVerify(ctx, g, *key, *data, *file, *stream, *checkpoint, stdout, stderr)
	}
	return runRequest(ctx, g, "audit."+verb, args, stdout, stderr)
}

func needKey(key string) (string, error) {
	if strings.TrimSpace(key) == "" {
		return "", errors.New("this needs the ledger's checkpoint verifier key: --key or LICLEDGER_CHECKPOINT_KEY (ledgerctl audit key prints it; get it from the ledger's operator, not from the ledger you are checking)")
	}
	return strings.TrimSpace(key), nil
}

func connect(g global) (*client.Client, *nats.Conn, error) {
	if g.token == "" {
		return nil, nil, needsToken("the audit queries")
	}
	nc, err := g.connect("ledgerctl audit")
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", g.natsURL, err)
	}
	c := client.New(nc, g.token)
	c.Partition = g.partition
	return c, nc, nil
}

// streamName is the stream of the ledger's log: LEDGER_EVENTS, or with --partition k the
// partition's, LEDGER_EVENTS_<k>.
func (g global) streamName() string {
	if g.partition != "" {
		return eventsStream + "_" + g.partition
	}
	return eventsStream
}

func query[R any](ctx context.Context, c *client.Client, name string, body any) (R, error) {
	var r R
	raw, err := c.Query(ctx, name, body)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(raw, &r)
}

func auditKey(ctx context.Context, g global, data string, stdout, stderr io.Writer) error {
	if data != "" {
		b, err := os.ReadFile(filepath.Join(data, checkpointKeyFile))
		if err != nil {
			return err
		}
		vkey, err := eventstore.VerifierKey(strings.TrimSpace(string(b)))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, vkey)
		return nil
	}
	c, nc, err := connect(g)
	if err != nil {
		return err
	}
	defer nc.Close()
	r, err := query[struct {
		Key string `json:"key"`
	}](ctx, c, "audit.checkpoint", map[string]any{})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Key)
	fmt.Fprintln(stderr, "ledgerctl: this key came from the ledger itself; an auditor should pin one obtained out of band (ledgerctl audit key --data on the ledger's machine)")
	return nil
}

// signedProof is what the proof queries answer with: the hashes, and the signed checkpoint of
// the tree they lead to.
type signedProof struct {
	TreeSize   uint64   `json:"treeSize"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// open checks the checkpoint with key and decodes the proof's hashes.
func (p signedProof) open(key string) (eventstore.Checkpoint, []tlog.Hash, error) {
	cp, err := eventstore.OpenCheckpoint([]byte(p.Checkpoint), key)
	if err != nil {
		return cp, nil, err
	}
	proof, err := p.hashesFor(cp)
	return cp, proof, err
}

// hashesFor decodes the proof's hashes once it is known to lead to checkpoint cp's tree.
func (p signedProof) hashesFor(cp eventstore.Checkpoint) ([]tlog.Hash, error) {
	if cp.Size != p.TreeSize {
		return nil, fmt.Errorf("NOT VERIFIED: the proof is for a tree of %d, the checkpoint for %d", p.TreeSize, cp.Size)
	}
	return decodeHashes(p.Proof)
}

type consistencyProof struct {
	FromRoot string `json:"fromRoot"`
	signedProof
}

// provenRoot returns the tree hash at size the ledger answered with, once the proof shows it is
// a prefix of checkpoint cp's signed tree.
func (r consistencyProof) provenRoot(cp eventstore.Checkpoint, size uint64) (tlog.Hash, error) {
	proof, err := r.hashesFor(cp)
	if err != nil {
		return tlog.Hash{}, err
	}
	h, err := tlog.ParseHash(r.FromRoot)
	if err != nil {
		return tlog.Hash{}, err
	}
	if err := tlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(size), h); err != nil {
		return tlog.Hash{}, fmt.Errorf("NOT VERIFIED: the tree of %d is not a prefix of the signed tree of %d: %w", size, cp.Size, err)
	}
	return h, nil
}

func decodeHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("proof hash %d: %w", i, err)
		}
		out[i] = h
	}
	return out, nil
}

func auditProve(ctx context.Context, g global, key string, seq uint64, id string, size uint64, stdout io.Writer) error {
	key, err := needKey(key)
	if err != nil {
		return err
	}
	c, nc, err := connect(g)
	if err != nil {
		return err
	}
	defer nc.Close()
	body := map[string]any{"treeSize": size}
	if seq != 0 {
		body["sequence"] = seq
	}
	if id != "" {
		body["eventId"] = id
	}
	r, err := query[struct {
		Sequence uint64 `json:"sequence"`
		Event    string `json:"event"`
		signedProof
	}](ctx, c, "audit.inclusion", body)
	if err != nil {
		return err
	}
	cp, proof, err := r.open(key)
	if err != nil {
		return err
	}
	env, err := eventstore.DecodeEnvelope([]byte(r.Event))
	if err != nil {
		return err
	}
	if env.Sequence != r.Sequence || (seq != 0 && r.Sequence != seq) || (id != "" && env.ID != id) {
		return fmt.Errorf("NOT VERIFIED: the ledger answered with event %d (%s), not the one asked for", env.Sequence, env.ID)
	}
	if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(r.Sequence-1), tlog.RecordHash([]byte(r.Event))); err != nil {
		return fmt.Errorf("NOT VERIFIED: event %d is not in the signed tree of %d: %w", r.Sequence, cp.Size, err)
	}
	fmt.Fprintf(stdout, "verified: event %d (%s, %s) is in the log's signed tree of %d events (root %s)\n%s\n", r.Sequence, env.ID, env.Type, cp.Size, cp.Root, r.Event)
	return nil
}

func auditConsistency(ctx context.Context, g global, key, from string, to uint64, stdout io.Writer) error {
	key, err := needKey(key)
	if err != nil {
		return err
	}
	var old *eventstore.Checkpoint
	size, err := strconv.ParseUint(from, 10, 64)
	if err != nil {
		b, rerr := os.ReadFile(from)
		if rerr != nil {
			return fmt.Errorf("--from: neither a tree size nor a readable checkpoint file: %w", rerr)
		}
		c, err := eventstore.OpenCheckpoint(checkpointFromFile(b), key)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		old, size = &c, c.Size
	}
	c, nc, err := connect(g)
	if err != nil {
		return err
	}
	defer nc.Close()
	r, err := query[consistencyProof](ctx, c, "audit.consistency", map[string]any{"from": size, "to": to})
	if err != nil {
		return err
	}
	cp, err := eventstore.OpenCheckpoint([]byte(r.Checkpoint), key)
	if err != nil {
		return err
	}
	fromRoot, err := r.provenRoot(cp, size)
	if err != nil {
		return err
	}
	if old != nil && old.Root != fromRoot {
		return fmt.Errorf("NOT VERIFIED: your checkpoint of %d has root %s, the ledger's tree there has root %s: the log was rewritten", size, old.Root, fromRoot)
	}
	what := "the tree of " + strconv.FormatUint(size, 10)
	if old != nil {
		what = "your signed checkpoint of " + strconv.FormatUint(size, 10)
	}
	fmt.Fprintf(stdout, "verified: %s (root %s) is a prefix of the signed tree of %d (root %s): the log was only appended to\n", what, fromRoot, cp.Size, cp.Root)
	return nil
}

type checkpointResult struct {
	Checkpoint string `json:"checkpoint"`
	TreeSize   uint64 `json:"treeSize"`
}

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
	n, err := replay(ctx, g, c, nc, f, func(_ uint64, event []byte) error {
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

func auditVerify(ctx context.Context, g global, key, data, file string, stream bool, checkpointFile string, stdout, stderr io.Writer) error {
	key, err := needKey(key)
	if err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{data != "", file != "", stream} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("audit verify needs one history: --data DIR, --file FILE or --stream")
	}
	var checkpoints []eventstore.Checkpoint
	addCheckpoint := func(signed []byte, from string) error {
		c, err := eventstore.OpenCheckpoint(signed, key)
		if err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
		checkpoints = append(checkpoints, c)
		return nil
	}
	if checkpointFile == "" && file != "" {
		if _, err := os.Stat(file + ".checkpoint"); err == nil {
			checkpointFile = file + ".checkpoint"
		}
	}
	if checkpointFile != "" {
		b, err := os.ReadFile(checkpointFile)
		if err != nil {
			return err
		}
		if err := addCheckpoint(checkpointFromFile(b), checkpointFile); err != nil {
			return err
		}
	}
	p := newProgress(stderr, true)
	start := time.Now()
	var v *eventstore.Verifier
	switch {
	case data != "":
		store, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer store.Close()
		stored, err := store.StoredCheckpoints(key)
		if err != nil {
			return fmt.Errorf("a checkpoint stored in %s: %w", data, err)
		}
		v = eventstore.NewVerifier(append(checkpoints, stored...)...)
		v.Trusted = store.ProvenTreeHash // proven against the signed root, not trusted
		err = store.VerifyLog(v, func(n uint64) { p.at(n, n) })
		if err != nil {
			return notVerified(err)
		}
	default:
		c, nc, err := connect(g)
		if err != nil && (stream || checkpointFile == "") {
			return err
		}
		if nc != nil {
			defer nc.Close()
			if checkpointFile == "" {
				r, err := query[struct {
					Checkpoint string `json:"checkpoint"`
				}](ctx, c, "audit.checkpoint", map[string]any{})
				if err != nil {
					return err
				}
				if err := addCheckpoint([]byte(r.Checkpoint), "the ledger's latest checkpoint"); err != nil {
					return err
				}
			}
		}
		v = eventstore.NewVerifier(checkpoints...)
		if c != nil {
			v.Trusted = provenByLedger(ctx, c)
		}
		if stream {
			_, err = replayStream(ctx, g, nc, replayFlags{}, v.Add, p)
		} else {
			err = verifyFile(file, v, p)
		}
		if err == nil {
			err = v.Finish()
		}
		if err != nil {
			return notVerified(err)
		}
	}
	p.done(v.Events())
	root, _ := v.Root()
	if len(v.Checked) == 0 {
		return fmt.Errorf("NOT VERIFIED: %d events are well formed and gap-free (root %s), but no signed checkpoint covers them", v.Events(), root)
	}
	last := v.Checked[len(v.Checked)-1]
	fmt.Fprintf(stdout, "verified: %d events, gap-free, ids unique; the tree over them reproduces %d signed checkpoint(s), the last of %d events (root %s); %.0f events/s\n",
		v.Events(), len(v.Checked), last.Size, last.Root, float64(v.Events())/time.Since(start).Seconds())
	if v.Events() > last.Size {
		fmt.Fprintf(stdout, "note: events %d..%d come after the last checkpoint: well formed, but not yet signed\n", last.Size+1, v.Events())
	}
	return nil
}

// checkpointFromFile takes the signed note from a file holding it, or holding audit
// checkpoint's JSON answer (what `ledgerctl audit checkpoint > FILE` saves).
func checkpointFromFile(b []byte) []byte {
	var reply struct {
		Result checkpointResult `json:"result"`
		checkpointResult
	}
	if json.Unmarshal(b, &reply) == nil {
		if reply.Result.Checkpoint != "" {
			return []byte(reply.Result.Checkpoint)
		}
		if reply.Checkpoint != "" {
			return []byte(reply.Checkpoint)
		}
	}
	return b
}

func notVerified(err error) error { return fmt.Errorf("NOT VERIFIED: %w", err) }

// provenByLedger asks the ledger for its tree hash at a size with a consistency proof to a
// checkpoint, and keeps the hash only if the proof holds against the signed root.
func provenByLedger(ctx context.Context, c *client.Client) func(uint64, eventstore.Checkpoint) (tlog.Hash, error) {
	return func(size uint64, cp eventstore.Checkpoint) (tlog.Hash, error) {
		r, err := query[consistencyProof](ctx, c, "audit.consistency", map[string]any{"from": size, "to": cp.Size})
		if err != nil {
			return tlog.Hash{}, err
		}
		return r.provenRoot(cp, size)
	}
}

func verifyFile(path string, v *eventstore.Verifier, p *progress) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("%s: a line longer than 1 MiB after event %d", path, v.Events())
		}
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			if err := v.Add(0, line); err != nil {
				return err
			}
			if n := v.Events(); n%65536 == 0 {
				p.at(n, n)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// progress reports how far a long read got: a line that rewrites itself on a terminal, a line
// every 5 s otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	last     time.Time
	start    time.Time
}

func newProgress(w io.Writer, enabled bool) *progress {
	if !enabled {
		w = io.Discard
	}
	return &progress{w: w, terminal: isTerminal(w), start: time.Now(), last: time.Now()}
}

func (p *progress) at(seq, n uint64) {
	every := 5 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	if time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	rate := float64(n) / time.Since(p.start).Seconds()
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[Kat sequence %d: %d events, %.0f/s", seq, n, rate)
	} else {
		fmt.Fprintf(p.w, "ledgerctl: at sequence %d: %d events, %.0f/s\n", seq, n, rate)
	}
}

func (p *progress) done(n uint64) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%d events in %s\n", n, time.Since(p.start).Round(time.Millisecond))
	}
}

// isTerminal reports whether w is a character device (a terminal, not a file or a pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
