package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
)

// runFollow is `ledgerctl events follow`: the reseller's events from a sequence on, then live,
// one CloudEvents envelope per line, through the token's feed consumer (client.Follow).
func runFollow(ctx context.Context, g global, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events follow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reseller := fs.String("reseller", "", "the reseller whose events to follow (the credential's own)")
	from := fs.Uint64("from", 1, "the first sequence to print")
	count := fs.Int("count", 0, "stop after this many events (0: follow until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reseller == "" {
		return errors.New("events follow: --reseller is required")
	}
	if g.token == "" {
		return needsToken("events follow")
	}
	nc, err := g.connect("ledgerctl events follow")
	if err != nil {
		return err
	}
	defer nc.Close()
	opened, cancel := context.WithTimeout(ctx, 5*time.Second)
	feed, err := client.FollowOn(opened, nc, g.token, g.streamName(), g.eventPrefix()+*reseller+".>", *from)
	cancel()
	if err != nil {
		return fmt.Errorf("events follow: %w (a feed needs a credential scoped to that reseller as a whole, whose role sees all of it)", err)
	}
	for n := 0; *count == 0 || n < *count; {
		if err := ctx.Err(); err != nil {
			return nil
		}
		m, err := feed.Next(jetstream.FetchMaxWait(time.Second))
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			if errors.Is(err, nats.ErrTimeout) {
				continue // nothing new yet
			}
			return err
		}
		fmt.Fprintf(stdout, "%s\n", m.Data())
		n++
	}
	return nil
}
