package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress reports how far a long read got: a line that rewrites itself on a terminal, a line
// every 5 s otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	last     time.Time
	start    time.Time
}

func newProgress(w io.Writer, enabled bool) *progress {
	if !enabled {
		w = io.Discard
	}
	return &progress{w: w, terminal: isTerminal(w), start: time.Now(), last: time.Now()}
}

func (p *progress) at(seq, n uint64) {
	every := 5 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	if time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	rate := float64(n) / time.Since(p.start).Seconds()
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[Kat sequence %d: %d events, %.0f/s", seq, n, rate)
	} else {
		fmt.Fprintf(p.w, "ledgerctl: at sequence %d: %d events, %.0f/s\n", seq, n, rate)
	}
}

func (p *progress) done(n uint64) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%d events in %s\n", n, time.Since(p.start).Round(time.Millisecond))
	}
}

// isTerminal reports whether w is a character device (a terminal, not a file or a pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// count reports done of total things.
func (p *progress) count(done, total int, unit string) {
	every := 5 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	if time.Since(p.last) < every && done < total {
		return
	}
	p.last = time.Now()
	rate := float64(done) / time.Since(p.start).Seconds()
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%d of %d %s, %.0f/s", done, total, unit, rate)
	} else {
		fmt.Fprintf(p.w, "ledgerctl: %d of %d %s, %.0f/s\n", done, total, unit, rate)
	}
}

// finish ends a progress line on a terminal.
func (p *progress) finish() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
