package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shellExample is one ```sh block of README.md or docs/*.md.
type shellExample struct {
	where  string // file:line of the opening fence
	script string
	// mode is how the block runs: "" with `make run` going, "stopped" with it stopped (a data
	// dir only a stopped ledger may open, or a second ledgerd of its own), "not run" not at all.
	mode   string
	reason string // why a block is not run: the tests that cover it
}

// exampleMarker is the comment that may stand right above a block:
// <!-- example: ledgerd stopped --> or <!-- example: not run: REASON -->.
var exampleMarker = regexp.MustCompile(`^\s*<!-- example: (ledgerd stopped|not run: (.+)) -->\s*$`)

// shellExamples reads the ```sh blocks of one Markdown file, in order.
func shellExamples(t *testing.T, path, name string) []shellExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []shellExample
	var cur *shellExample
	var indent, marker string
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```sh":
			cur = &shellExample{where: name + ":" + strconv.Itoa(n)}
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
			if m := exampleMarker.FindStringSubmatch(marker); m != nil {
				cur.mode, cur.reason = "stopped", ""
				if m[2] != "" {
					cur.mode, cur.reason = "not run", m[2]
				}
			}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.script += strings.TrimPrefix(line, indent) + "\n"
		case trimmed != "":
			marker = line // the last non-blank line before a block
		}
	}
	if cur != nil {
		t.Fatalf("%s: a ```sh block is never closed", cur.where)
	}
	return out
}

// TestShellExamples runs every shell example of README.md and docs/*.md as a new user would: in a
// fresh copy of the repository (the files git would commit), with `make run` going in it on the
// default ports, each ```sh block in its own `bash -e -o pipefail`, README first and then docs in
// name order, each block in the state the one before it left. PATH has the stock tools (nats,
// curl, openssl) but no ledgerctl or ledgerd: the examples use the bin/ the set-up builds. A
// block marked `<!-- example: ledgerd stopped -->` runs with `make run` stopped, which starts again
// after it; one marked `<!-- example: not run: REASON -->` does not run, and REASON must name
// tests that exist and cover it.
func TestShellExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make run and every example as subprocesses")
	}
	tools := map[string]string{}
	for _, tool := range []string{"bash", "make", "nats", "curl", "openssl", "git"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			if os.Getenv("LICLEDGER_REQUIRE_EXAMPLES") != "" {
				t.Fatalf("%s is not on PATH (`make test` installs nats into ./bin; curl and openssl are Debian packages)", tool)
			}
			t.Skipf("%s is not on PATH", tool)
		}
		tools[tool] = p
	}
	for _, addr := range []string{"127.0.0.1:4222", "127.0.0.1:8080"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the examples use make run's default ports, and %s is taken (a make run of your own?): %v", addr, err)
		}
		ln.Close()
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var examples []shellExample
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	slices.Sort(docs)
	for _, p := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		rel, _ := filepath.Rel(root, p)
		examples = append(examples, shellExamples(t, p, rel)...)
	}
	if len(examples) < 8 {
		t.Fatalf("only %d shell examples found", len(examples))
	}
	tests := testNames(t, root)
	for _, e := range examples {
		if e.mode != "not run" {
			continue
		}
		named := regexp.MustCompile(`\bTest\w+`).FindAllString(e.reason, -1)
		if len(named) == 0 && !strings.Contains(e.reason, ".ci/run") {
			t.Errorf("%s is not run, and its reason names no test that covers it: %q", e.where, e.reason)
		}
		for _, name := range named {
			if !tests[name] {
				t.Errorf("%s is not run because %s covers it, and there is no %s", e.where, name, name)
			}
		}
	}

	dir := copyRepository(t, root, tools)
	env := exampleEnv(t, tools)
	ledger := startMakeRun(t, dir, env)
	defer func() { ledger.stop(t) }()
	for _, e := range examples {
		if e.mode == "not run" {
			continue
		}
		if e.mode == "stopped" {
			ledger.stop(t)
		}
		// At a reader's pace: a block starts a moment after the last, when a checkpoint (signed
		// every second here) covers what the last one did, as the auditing examples expect.
		time.Sleep(1500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, tools["bash"], "-e", "-o", "pipefail", "-c", e.script)
		cmd.Dir, cmd.Env = dir, env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %v\n--- script\n%s--- output\n%s", e.where, err, e.script, out)
		}
		if e.mode == "stopped" {
			ledger = startMakeRun(t, dir, env)
		}
	}
}

// TestSeedTableNamesRealTests: every test docs/SEEDS.md says proves a seed's feature exists, and
// every row of its tables names an endpoint and a test (or says why the feature is not built).
func TestSeedTableNamesRealTests(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "docs", "SEEDS.md"))
	if err != nil {
		t.Fatal(err)
	}
	tests := testNames(t, root)
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "| ") || len(cells) != 3 || strings.TrimSpace(cells[0]) == "the seed" {
			continue
		}
		rows++
		named := regexp.MustCompile(`\bTest\w+`).FindAllString(cells[2], -1)
		if len(named) == 0 && !strings.Contains(cells[1], "not built") {
			t.Errorf("docs/SEEDS.md: %q names no test", strings.TrimSpace(cells[0]))
		}
		for _, name := range named {
			if !tests[name] {
				t.Errorf("docs/SEEDS.md: %q is proved by %s, and there is no %s", strings.TrimSpace(cells[0]), name, name)
			}
		}
	}
	if rows < 40 {
		t.Fatalf("docs/SEEDS.md: only %d rows found", rows)
	}
}

// testNames lists the test functions of the repository.
func testNames(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		for _, m := range decl.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// copyRepository copies what git would commit (tracked files and new ones not ignored) to a
// temp dir: a fresh clone of the working tree.
func copyRepository(t *testing.T, root string, tools map[string]string) string {
	t.Helper()
	out, err := exec.Command(tools["git"], "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dir := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exampleEnv is the environment the examples run in: this one, with no LICLEDGER_ variable
// (make run uses its defaults) and a PATH without any ledgerd or ledgerctl (the examples use
// bin/), but with nats.
func exampleEnv(t *testing.T, tools map[string]string) []string {
	t.Helper()
	natsDir := t.TempDir()
	if err := os.Symlink(tools["nats"], filepath.Join(natsDir, "nats")); err != nil {
		t.Fatal(err)
	}
	path := []string{natsDir}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		_, errd := os.Stat(filepath.Join(d, "ledgerd"))
		_, errc := os.Stat(filepath.Join(d, "ledgerctl"))
		if errd != nil && errc != nil {
			path = append(path, d)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LICLEDGER_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "NATS_") {
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+strings.Join(path, string(os.PathListSeparator)))
}

// makeRun is `make run` going in a process group of its own.
type makeRun struct {
	cmd *exec.Cmd
	out *lockedWriter // stdout and stderr, one writer for both
}

// output is what make run printed so far.
func (m *makeRun) output() string {
	m.out.mu.Lock()
	defer m.out.mu.Unlock()
	return m.out.w.(*bytes.Buffer).String()
}

func startMakeRun(t *testing.T, dir string, env []string) *makeRun {
	t.Helper()
	m := &makeRun{cmd: exec.Command("make", "run"), out: &lockedWriter{w: &bytes.Buffer{}}}
	// A checkpoint a second rather than every 10 s: the auditing examples prove events at once.
	m.cmd.Dir, m.cmd.Env = dir, append(slices.Clip(env), "LICLEDGER_CHECKPOINT_INTERVAL=1s")
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute) // the first build in the copy compiles everything
	for {
		resp, err := http.Get("http://127.0.0.1:8080/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return m
			}
		}
		if time.Now().After(deadline) {
			m.stop(t)
			t.Fatalf("make run not ready within 3 minutes:\n%s", m.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop interrupts make run as Ctrl-C would, and waits for it.
func (m *makeRun) stop(t *testing.T) {
	t.Helper()
	if m == nil || m.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Errorf("make run did not stop on SIGINT within 30 s:\n%s", m.output())
	}
}
