package eventstore

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's Merkle tree at one size: the C2SP
// tlog-checkpoint text ("<origin>\n<size>\n<base64 root hash>\n") in a signed note
// (golang.org/x/mod/sumdb/note, ed25519). Anyone holding the verifier key can check it, and
// every history that claims to be this log must reproduce its root at its size.
type Checkpoint struct {
	Origin string    // the signer's key name
	Size   uint64    // the number of events the tree covers: sequences 1..Size
	Root   tlog.Hash // the RFC 6962 tree hash over those events' exact bytes
	Signed []byte    // the signed note, as published
}

// checkpointText is the body the signature covers.
func checkpointText(origin string, size uint64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// signCheckpoint signs the tree at size with root.
func signCheckpoint(signer note.Signer, size uint64, root tlog.Hash) (Checkpoint, error) {
	signed, err := note.Sign(&note.Note{Text: checkpointText(signer.Name(), size, root)}, signer)
	if err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Origin: signer.Name(), Size: size, Root: root, Signed: signed}, nil
}

// ErrCheckpointSignature means a checkpoint is not signed by the key it was checked with (a
// forged checkpoint, or the wrong key).
var ErrCheckpointSignature = errors.New("checkpoint not signed by the given key")

// OpenCheckpoint checks a signed checkpoint against the verifier key vkey (as printed by
// `ledgerctl audit key`) and parses it. The origin line must be the key's name.
func OpenCheckpoint(signed []byte, vkey string) (Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint: origin is not %q", v.Name())
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("checkpoint: malformed tree size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint: malformed root hash %q", lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size, Signed: bytes.Clone(signed)}
	copy(c.Root[:], raw)
	return c, nil
}

// GenerateCheckpointKey makes a new ed25519 signing key named name, in note's text form
// ("PRIVATE+KEY+<name>+<hash>+<key>"). Keep it secret; VerifierKey gives its public half.
func GenerateCheckpointKey(name string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	return skey, err
}

// VerifierKey returns the public verifier key ("<name>+<hash>+<key>") of the signing key skey.
func VerifierKey(skey string) (string, error) {
	if _, err := note.NewSigner(skey); err != nil {
		return "", err
	}
	// PRIVATE+KEY+<name>+<hash>+<base64(alg || seed)>; NewSigner has checked the shape.
	parts := strings.SplitN(skey, "+", 5) // the base64 key may itself hold a +
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("signing key: not an ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}
