package datadir

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLicenseKeys: the first load makes one current key and keeps it; a rotation retires it and
// makes a new current one; a file with no or two current keys, or a broken line, is refused.
func TestLicenseKeys(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadLicenseKeys(dir)
	if err != nil || len(first) != 1 || !first[0].Retired.IsZero() {
		t.Fatalf("first load: %v %v", first, err)
	}
	if info, err := os.Stat(filepath.Join(dir, LicenseKeysFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v %v", info, err)
	}
	again, err := LoadLicenseKeys(dir)
	if err != nil || !again[0].Private.Equal(first[0].Private) {
		t.Fatalf("a second load made another key: %v", err)
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	rotated, err := RotateLicenseKey(dir, now)
	if err != nil || len(rotated) != 2 || !rotated[0].Private.Equal(first[0].Private) || !rotated[0].Retired.Equal(now) || !rotated[1].Retired.IsZero() {
		t.Fatalf("rotated: %+v %v", rotated, err)
	}
	loaded, err := LoadLicenseKeys(dir)
	if err != nil || len(loaded) != 2 || !loaded[1].Private.Equal(rotated[1].Private) || !loaded[0].Retired.Equal(now) {
		t.Fatalf("after rotation: %+v %v", loaded, err)
	}
	for _, bad := range []string{"AAAA -\n", "not-a-key\n", ""} {
		os.WriteFile(filepath.Join(dir, LicenseKeysFile), []byte(bad), 0o600)
		if _, err := LoadLicenseKeys(dir); err == nil {
			t.Errorf("%q loaded", bad)
		}
	}
}
