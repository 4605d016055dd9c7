package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBatchSubmitFromFile: `ledgerctl batch submit` sends a file of 1,203 commands in batches of
// 500, reports each refusal by its line, exits non-zero when there was one, and with
// --command-id a rerun applies nothing twice.
func TestBatchSubmitFromFile(t *testing.T) {
	url, tokenFile := startLedger(t)
	ctl := ledgerctlFor(url, tokenFile)
	runAll(t, ctl, append(catalogue,
		[]string{"plan", "create", "--id", "big", "--product", "p1", "--name", "Many seats", "--tier", "1", "--seats", "1200"},
		[]string{"license", "create", "--id", "l1", "--reseller", "r1", "--tenant", "acme", "--plan", "big"})...)
	var lines []string
	for i := range 1201 { // one more user than the quota
		body, _ := json.Marshal(map[string]string{"licenseId": "l1", "endUserCompany": "Acme", "endUserName": fmt.Sprint("user-", i)})
		lines = append(lines, fmt.Sprintf(`{"name": "seat.register", "body": %s}`, body))
	}
	lines = append(lines, "# a comment, and a blank line", "", `{"name": "license.note", "body": {"licenseId": "nope", "note": "x"}}`)
	file := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := ctl("--command-id", "onboard", "batch", "submit", "--file", file)
	if err == nil || !strings.Contains(err.Error(), "2 of 1202 commands were refused") {
		t.Fatalf("want a failure naming the refusals: %v\n%s", err, out)
	}
	for _, want := range []string{"1202 commands from " + file + ": 1200 applied (1200 events), 2 refused",
		"line 1201 (seat.register): QUOTA_EXCEEDED", "line 1204 (license.note): LICENSE_NOT_FOUND"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the summary lacks %q:\n%s", want, out)
		}
	}
	// The rerun gets each batch's first reply back: the same summary, nothing applied again.
	again, _ := ctl("--command-id", "onboard", "batch", "submit", "--file", file)
	if again != out {
		t.Fatalf("a rerun with the same command id:\n%s\nwant\n%s", again, out)
	}
	q, err := ctl("usage", "quota", "--license", "l1")
	if err != nil || !strings.Contains(q, `"consumed": 1200`) {
		t.Fatalf("quota after the batches: %v\n%s", err, q)
	}
	// --atomic is for a file of one batch; a line that is not a command is named.
	if _, err := ctl("batch", "submit", "--file", file, "--atomic"); err == nil || !strings.Contains(err.Error(), "one batch") {
		t.Fatalf("--atomic over several batches: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(lines[0]+"\n{\"nam\": 1}\n"), 0o600)
	if _, err := ctl("batch", "submit", "--file", bad); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Fatalf("a malformed line: %v", err)
	}
}
