package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/internal/testreport"
)

// mountSmallDisk mounts a tmpfs of size bytes at dir for the test. It skips the test where mounting
// is not allowed (not root), unless LICLEDGER_REQUIRE_TMPFS is set (CI runs as root and sets it).
func mountSmallDisk(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("LICLEDGER_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount a tmpfs: %v\n%s", err, out)
		}
		t.Skipf("cannot mount a small tmpfs here (%v: %s); CI runs this as root", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
}

// TestFullDiskStopsCleanlyAndLosesNothing runs ledgerd with its data dir on a small tmpfs and
// fills the disk under load. The ledger must stop by itself with a log line naming the cause,
// and after space is freed a restart serves again with every acknowledged command's event in the
// log and the stream, the tree verifying against its checkpoints.
func TestFullDiskStopsCleanlyAndLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ledgerd as a subprocess")
	}
	root := t.TempDir()
	disk := filepath.Join(root, "disk")
	mountSmallDisk(t, disk, 96<<20) // registered before the process: unmounted after it is killed
	bin := buildLedgerd(t)
	data := filepath.Join(disk, "data")
	logPath := filepath.Join(root, "ledgerd.log")
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	args := []string{"--data", data, "--nats-listen", natsAddr, "--http-listen", httpAddr, "--checkpoint-interval", "20ms"}
	p := startSubprocess(t, bin, logPath, nil, args...)
	token := readToken(t, data)
	nc := connect(t, "nats://"+natsAddr, token)
	c := client.New(nc, token)
	c.Timeout = 2 * time.Second
	lic := setupLicense(t, c, "disk", 1_000_000)

	// Leave the ledger a few megabytes: a balloon file takes the rest.
	var st syscall.Statfs_t
	if err := syscall.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	balloon := filepath.Join(disk, "balloon")
	if free := int64(st.Bavail) * st.Bsize; free > 4<<20 {
		if err := os.WriteFile(balloon, make([]byte, free-4<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	load := startSeatLoad(t, []*client.Client{c}, 8, lic, "", func(id string) string {
		return id + "-" + strings.Repeat("x", 100) // bigger events fill the disk sooner
	})
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		logText, _ := os.ReadFile(logPath)
		t.Fatalf("ledgerd still running a minute into a full disk (%d acknowledged); its log ends:\n%s", load.count(), tail(string(logText), 30))
	}
	acked := load.stop()
	var exit *exec.ExitError
	if p.err == nil || !errors.As(p.err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("ledgerd on a full disk ended with %v; want a non-zero exit", p.err)
	}
	logText, _ := os.ReadFile(logPath)
	var cause string
	for _, line := range strings.Split(string(logText), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "no space left on device") {
			cause = line
			break
		}
	}
	if cause == "" {
		t.Fatalf("no error line names the full disk; the log ends:\n%s", tail(string(logText), 15))
	}
	t.Logf("the ledger stopped on the full disk (%v, %d acknowledged): %s", p.err, len(acked), cause)

	// A healthy disk again: the tree verifies, and the restarted ledger has everything it acknowledged.
	if err := os.Remove(balloon); err != nil {
		t.Fatal(err)
	}
	_, vkey, err := datadir.LoadCheckpointKey(data)
	if err != nil {
		t.Fatal(err)
	}
	events := checkDeadLog(t, data, vkey, nil)
	startSubprocess(t, bin, logPath, nil, args...)
	waitConnected(t, nc)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	verifyStream(t, js, acked)
	if _, err := c.Command(context.Background(), "seat.register", seat(lic, "after-the-fault"), ""); err != nil {
		t.Fatalf("after a restart on a healthy disk: %v", err)
	}
	testreport.Line(t, "faults injected: 1 full disk; acknowledged before it: %d, events verified: %d, lost: 0", len(acked), events)
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
