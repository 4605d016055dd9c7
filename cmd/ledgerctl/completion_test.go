package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/licledger/licledger/domain"
)

// TestCompletionInBash: the bash script completes nouns, verbs, each request's flags (after
// global flags and their values) and enum values, in a real bash.
func TestCompletionInBash(t *testing.T) {
	var script bytes.Buffer
	if err := runCompletion("bash", &script); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ledgerctl.bash")
	if err := os.WriteFile(path, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words string
		want  string
	}{
		{"ledgerctl lic", "license"},
		{"ledgerctl license ren", "renew"},
		{"ledgerctl --output table --token x seat register --", "--license --company --user"},
		{"ledgerctl credential issue --role client-l", "client-limited"},
		{"ledgerctl license details --format ex", "expanded"},
		{"ledgerctl admin create --profile ten", "tenant-admin"},
		{"ledgerctl audit verify --", "--key --data --file --stream --checkpoint"},
		{"ledgerctl webhook del", "delete deliveries"},
		{"ledgerctl --out", "--output"},
	} {
		words := strings.Fields(c.words)
		if strings.HasSuffix(c.words, " ") {
			words = append(words, "")
		}
		cmd := exec.Command("bash", "-c", `source "$1"; COMP_WORDS=("${@:2}"); COMP_CWORD=$(($# - 2)); _ledgerctl; echo "${COMPREPLY[*]}"`, "bash", path)
		cmd.Args = append(cmd.Args, words...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.words, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%q completes to %q; want %q", c.words, got, c.want)
		}
	}
}

// TestCompletionScripts: zsh's runs the bash function; fish's names every request's flags; an
// unknown shell is refused.
func TestCompletionScripts(t *testing.T) {
	var zsh, fish bytes.Buffer
	if err := runCompletion("zsh", &zsh); err != nil || !strings.Contains(zsh.String(), "bashcompinit") || !strings.Contains(zsh.String(), "complete -F _ledgerctl ledgerctl") {
		t.Errorf("zsh: %v", err)
	}
	if err := runCompletion("fish", &fish); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"complete -c ledgerctl -n '__fish_seen_subcommand_from seat; and __fish_seen_subcommand_from register' -l user -r",
		"complete -c ledgerctl -n '__fish_seen_subcommand_from credential; and __fish_seen_subcommand_from issue' -l role -xa",
	} {
		if !strings.Contains(fish.String(), line) {
			t.Errorf("fish lacks %q", line)
		}
	}
	if err := runCompletion("powershell", &fish); err == nil {
		t.Error("an unknown shell was accepted")
	}
}

// TestCompletionValuesAreTheLedgers: the values completed are the ledger's own lists.
func TestCompletionValuesAreTheLedgers(t *testing.T) {
	if !slices.Equal(completeRoles, domain.Roles) {
		t.Errorf("roles %v; the ledger's %v", completeRoles, domain.Roles)
	}
	if !slices.Equal(completeFormats, domain.ViewLevels[1:]) {
		t.Errorf("formats %v; the ledger's view levels %v", completeFormats, domain.ViewLevels)
	}
	if !slices.Equal(completeProfiles, []string{domain.ProfileSystemAdmin, domain.ProfileResellerAdmin, domain.ProfileTenantAdmin}) {
		t.Errorf("profiles %v", completeProfiles)
	}
}
