package main

// ledgerctl audit: an auditor's tools. Everything that says "verified" checked it with the
// ledger's public checkpoint key alone (--key, or LICLEDGER_CHECKPOINT_KEY), never with anything
// the server says about itself.

import (
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

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/wire"
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

// eventPrefix is the subject space of streamName's events: ledger.v1.evt., or with --partition k
// (a number: parseGlobal checked it) the partition's, ledger.v1.p.<k>.evt.
func (g global) eventPrefix() string {
	if g.partition != "" {
		k, _ := strconv.Atoi(g.partition)
		return wire.InPartition(k, wire.EventPrefix)
	}
	return wire.EventPrefix
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
