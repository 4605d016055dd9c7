package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
)

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
		if file != "" {
			// The export's record hashes, if beside it: proven against the checkpoint as they are
			// used, they name the first changed event without asking the ledger.
			if raw, err := os.ReadFile(file + ".hashes"); err == nil {
				rh, err := eventstore.NewRecordHashes(raw)
				if err != nil {
					return fmt.Errorf("%s.hashes: %w", file, err)
				}
				v.Trusted = rh.Trusted
			}
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
