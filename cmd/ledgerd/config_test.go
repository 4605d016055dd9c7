package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
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

// TestPasswordRuleFlag: --password-rule is APIO's rule by default, off with false, or a rule of
// the deployment's own; the rule it names is the one admin.create applies, over NATS.
func TestPasswordRuleFlag(t *testing.T) {
	env := func(string) string { return "" }
	for _, c := range []struct {
		arg  string
		want *handlers.PasswordRule
		err  bool
	}{
		{"", &domain.APIOPasswordRule, false},
		{"true", &domain.APIOPasswordRule, false},
		{"false", nil, false},
		{"min=14,digit,symbol", &handlers.PasswordRule{MinLength: 14, Digit: true, Symbol: true}, false},
		{"min=3,capitals", nil, true},
	} {
		var args []string
		if c.arg != "" {
			args = []string{"--password-rule", c.arg}
		}
		cfg, err := parseConfig(args, env, io.Discard)
		switch {
		case c.err:
			if err == nil || !strings.Contains(err.Error(), "password-rule") {
				t.Errorf("%q: %v; want an error naming the flag", c.arg, err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.arg, err)
		case (cfg.PasswordRule == nil) != (c.want == nil) || c.want != nil && *cfg.PasswordRule != *c.want:
			t.Errorf("%q: %+v; want %+v", c.arg, cfg.PasswordRule, c.want)
		}
	}

	data := t.TempDir()
	url, _, _ := startLogging(t, data, io.Discard, "--password-rule", "min=12,upper,lower,digit")
	sys := client.New(connect(t, url, readToken(t, data)), readToken(t, data))
	ctx := context.Background()
	setupLicense(t, sys, "pw", 1)
	_, err := sys.Command(ctx, "admin.create", map[string]any{"resellerId": "pwr", "username": "short", "userProfileType": "reseller-admin", "password": "Secret12"}, "")
	if e := wantCode(t, err, 400, "INVALID_ARGUMENT"); e.Field != "password" || !strings.Contains(e.Message, "at least 12 characters, one upper case letter, one lower case letter, one digit") {
		t.Errorf("the refusal must name the field and say the rule: %+v", e)
	}
	if _, err := sys.Command(ctx, "admin.create", map[string]any{"resellerId": "pwr", "username": "long", "userProfileType": "reseller-admin", "password": "Much-Longer-Secret-12"}, ""); err != nil {
		t.Errorf("a password the rule allows: %v", err)
	}
}
