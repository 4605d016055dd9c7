// Package testreport collects the reliability suite's counts (kills survived, faults injected,
// bad inputs tried, events checked, lost) into one report: each line is logged by its test and,
// when LICLEDGER_REPORT names a file, appended to it, so `make test` can print them all at the end
// without -v.
package testreport

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var mu sync.Mutex

// Line logs a line of the report under the test's name and appends it to $LICLEDGER_REPORT.
func Line(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	path := os.Getenv("LICLEDGER_REPORT")
	if path == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Errorf("reliability report: %v", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s: %s\n", t.Name(), line); err != nil {
		t.Errorf("reliability report: %v", err)
	}
}
