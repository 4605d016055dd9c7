package main

import (
	"io"
	"strings"
	"testing"

	"github.com/licledger/licledger/wire"
)

// TestPartitionFlags: --partition and --partitions (and their environment fallbacks) name one
// partition of a ledger on a cluster; anything else is refused with the flag's name.
func TestPartitionFlags(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, c := range []struct {
		args []string
		env  map[string]string
		want wire.Partition
		err  string
	}{
		{args: nil, want: wire.Partition{Index: 0, Count: 1}},
		{args: []string{"--nats-url", "nats://n:4222", "--partition", "1", "--partitions", "2"}, want: wire.Partition{Index: 1, Count: 2}},
		{env: map[string]string{"LICLEDGER_NATS_URL": "nats://n:4222", "LICLEDGER_PARTITION": "3", "LICLEDGER_PARTITIONS": "4"}, want: wire.Partition{Index: 3, Count: 4}},
		{args: []string{"--nats-url", "nats://n:4222", "--partition", "2", "--partitions", "2"}, err: "partition:"},
		{args: []string{"--nats-url", "nats://n:4222", "--partition", "-1", "--partitions", "2"}, err: "partition:"},
		{args: []string{"--nats-url", "nats://n:4222", "--partitions", "0"}, err: "partitions:"},
		{args: []string{"--nats-url", "nats://n:4222", "--partitions", "65"}, err: "partitions:"},
		{args: []string{"--partitions", "2"}, err: "--nats-url"},
	} {
		cfg, err := parseConfig(c.args, env(c.env), io.Discard)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v %v: %v, want an error about %q", c.args, c.env, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Partition != c.want {
			t.Errorf("%v %v: %+v %v, want %+v", c.args, c.env, cfg.Partition, err, c.want)
		}
	}
}
