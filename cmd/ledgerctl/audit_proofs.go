package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/licledger/licledger/eventstore"
)

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
