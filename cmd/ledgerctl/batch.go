package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/licledger/licledger/client"
)

// batchLine is one command of a batch file, and the line it came from.
type batchLine struct {
	line int
	cmd  client.BatchCommand
}

// runBatch is `ledgerctl batch submit`: the commands of a JSON-lines file, sent as batch.submit
// requests of --size commands each, with a progress line on stderr and a summary of what was
// refused at the end.
func runBatch(ctx context.Context, g global, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("batch submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", `JSON lines, one {"name", "body"} per line ("-": stdin)`)
	atomic := fs.Bool("atomic", false, "append every command or none (the file must fit in one batch)")
	size := fs.Int("size", 500, "commands per batch.submit (at most 1000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("batch submit: --file is required (\"-\" reads stdin)")
	}
	if *size < 1 || *size > client.MaxBatch {
		return fmt.Errorf("--size: %d is not between 1 and %d", *size, client.MaxBatch)
	}
	in := io.Reader(os.Stdin)
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	lines, err := readBatchFile(in, *file)
	if err != nil {
		return err
	}
	if *atomic && len(lines) > *size {
		return fmt.Errorf("--atomic holds for one batch: %s has %d commands, more than --size %d", *file, len(lines), *size)
	}
	if g.token == "" {
		return needsToken("batch submit")
	}
	nc, err := g.connect("ledgerctl")
	if err != nil {
		return fmt.Errorf("connect %s: %w", g.natsURL, err)
	}
	defer nc.Close()
	c := client.New(nc, g.token)
	c.Reseller, c.Partition = g.address, g.partition

	progress := newProgress(stderr, true)
	var accepted, events int
	var refusals []string
	for start, k := 0, 0; start < len(lines); start, k = start+*size, k+1 {
		chunk := lines[start:min(start+*size, len(lines))]
		cmds := make([]client.BatchCommand, len(chunk))
		for i, l := range chunk {
			cmds[i] = l.cmd
		}
		id := ""
		if g.commandID != "" {
			id = g.commandID + "-" + strconv.Itoa(k)
		}
		r, err := c.Batch(ctx, cmds, *atomic, id)
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) {
				err = fmt.Errorf("%w\n(batch %d: lines %d to %d; the batches before it were applied)", err, k, chunk[0].line, chunk[len(chunk)-1].line)
			}
			return err
		}
		for i, o := range r.Results {
			if o.Error != nil {
				refusals = append(refusals, fmt.Sprintf("line %d (%s): %s %s", chunk[i].line, chunk[i].cmd.Name, o.Error.Code, o.Error.Message))
			} else {
				accepted++
			}
		}
		events += len(r.Events)
		progress.count(start+len(chunk), len(lines), "commands")
	}
	progress.finish()
	fmt.Fprintf(stdout, "%d commands from %s: %d applied (%d events), %d refused\n", len(lines), *file, accepted, events, len(refusals))
	for i, r := range refusals {
		if i == 20 {
			fmt.Fprintf(stdout, "… and %d more refused\n", len(refusals)-20)
			break
		}
		fmt.Fprintln(stdout, r)
	}
	if len(refusals) > 0 {
		return fmt.Errorf("%d of %d commands were refused", len(refusals), len(lines))
	}
	return nil
}

// readBatchFile reads a batch file: one {"name", "body"} object per line; blank lines and lines
// starting with # are skipped.
func readBatchFile(in io.Reader, name string) ([]batchLine, error) {
	var out []batchLine
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var cmd struct {
			Name string          `json:"name"`
			Body json.RawMessage `json:"body"`
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cmd); err != nil || cmd.Name == "" || len(cmd.Body) == 0 {
			return nil, fmt.Errorf(`%s:%d: want {"name": "<command>", "body": {…}}: %v`, name, n, err)
		}
		out = append(out, batchLine{line: n, cmd: client.BatchCommand{Name: cmd.Name, Body: cmd.Body}})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no commands", name)
	}
	return out, nil
}
