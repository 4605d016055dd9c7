package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitsVerify checks deploy/'s systemd units with `systemd-analyze verify` (skipped
// where systemd's tools are missing), with ExecStart pointed at a built ledgerd: an unknown key,
// a bad value or a missing binary is reported, and a report fails the test.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	if testing.Short() {
		t.Skip("builds ledgerd")
	}
	ledgerd := buildLedgerd(t)
	dir := t.TempDir()
	for file, instance := range map[string]string{"ledgerd.service": "ledgerd.service", "ledgerd-partition@.service": "ledgerd-partition@1.service"} {
		b, err := os.ReadFile(filepath.Join("../../deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		unit := strings.ReplaceAll(string(b), "/usr/local/bin/ledgerd", ledgerd)
		if unit == string(b) {
			t.Fatalf("%s no longer runs /usr/local/bin/ledgerd", file)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, instance)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", file, err, out)
		}
	}
}
