package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestTablesFlattenAndCut: a list's nested values become columns of their own, an expanded code
// stays its displayAs, and a long value is cut to the column's width with a mark.
func TestTablesFlattenAndCut(t *testing.T) {
	long := strings.Repeat("x", 60)
	raw := `{"result":{"items":[{"licenseId":"l1","quota":{"active":2,"remaining":3},"status":{"code":"active","displayAs":"Active"},"note":"` + long + `"}]}}`
	var out bytes.Buffer
	if err := writeReply(&out, []byte(raw), "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "QUOTA.ACTIVE") || !strings.Contains(lines[0], "QUOTA.REMAINING") || strings.Contains(lines[0], "QUOTA ") {
		t.Errorf("header: %q", lines[0])
	}
	if !strings.Contains(lines[1], "Active") || strings.Contains(lines[1], long) || !strings.Contains(lines[1], strings.Repeat("x", 39)+"…") {
		t.Errorf("row: %q", lines[1])
	}
}

// TestChartPointsAreRows: dashboard.history's points print one row each, their totals flattened.
func TestChartPointsAreRows(t *testing.T) {
	raw := `{"result":{"range":"hour","stepSeconds":60,"points":[` +
		`{"at":"2026-12-05T06:00:00Z","sequence":3,"totals":{"licenses":1,"byStatus":{"active":1},"active":4}},` +
		`{"at":"2026-12-05T06:00:30Z","sequence":9,"totals":{"licenses":1,"byStatus":{"active":1},"active":5}}]}}`
	var out bytes.Buffer
	if err := writeReply(&out, []byte(raw), "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "TOTALS.BYSTATUS.ACTIVE") || !strings.Contains(lines[2], "2026-12-05T06:00:30Z") {
		t.Errorf("table:\n%s", out.String())
	}
}
