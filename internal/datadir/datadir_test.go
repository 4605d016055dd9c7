package datadir

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestKeysAreMadeOnceAndRestored(t *testing.T) {
	dir := t.TempDir()
	key, err := LoadServerKey(dir, 32)
	if err != nil || len(key) != 32 {
		t.Fatalf("a new server key: %d bytes, %v", len(key), err)
	}
	again, err := LoadServerKey(dir, 32)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("the server key changed on the second start (%v)", err)
	}
	if st, err := os.Stat(filepath.Join(dir, ServerKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("server key mode: %v %v", st.Mode(), err)
	}
	if _, err := LoadServerKey(dir, 16); err == nil {
		t.Fatal("a server key of the wrong size was taken")
	}
	_, vkey, err := LoadCheckpointKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := CheckpointVerifierKey(dir); err != nil || got != vkey {
		t.Fatalf("verifier key %q, %v; want %q", got, err, vkey)
	}
	// A backup without the callout seed restores the rest; one without the server key is refused.
	restored := t.TempDir()
	if err := RestoreKeys(dir, restored); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(restored, ServerKeyFile)); err != nil || !bytes.Equal(b, key) {
		t.Fatalf("restored server key: %v", err)
	}
	if err := RestoreKeys(t.TempDir(), t.TempDir()); err == nil {
		t.Fatal("a backup without the server key was restored")
	}
}
