// Command ledgerctl is licledger's command-line client for partners, admins and auditors: it
// sends commands and queries over NATS and runs load benchmarks against a running ledger.
//
//	ledgerctl reseller create --name "Acme Reseller"
//	ledgerctl seat register --license L --company Acme --user alice
//	ledgerctl usage quota --license L
//	ledgerctl bench --clients 64 --duration 10s
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/licledger/licledger/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerctl:", err)
		os.Exit(1)
	}
}

const usage = `usage: ledgerctl [global flags] <noun> <verb> [flags]

Commands:
  reseller create   --name N [--id ID]
  tenant create     --reseller R --name N [--id ID]
  tenant update     --tenant T --name N
  tenant get        --tenant T [--format F]
  tenant list       [--reseller R] [--name PART] [--limit N] [--after ID] [--format F]   (the
                    customers the token reaches, in id order)
  product create    --name N [--id ID]
  product list      [--limit N] [--after ID] [--format F]   (the catalogue)
  plan create       --product P --name N --tier T --seats S [--machines M] [--duration-days D] [--id ID]
                    [--entitlements a,b] [--floating true [--heartbeat-seconds S]]
  plan list         [--product P] [--limit N] [--after ID] [--format F]
  entitlement create --code C --name N [--product P]   (a feature licenses can grant)
  plan attach-entitlements | detach-entitlements   --plan P --codes a,b   (every license on the plan)
  license attach-entitlements | detach-entitlements   --license L --codes a,b   (the license's own)
  license create    --reseller R --tenant T --plan P [--id ID] [--protected true]   (prints the key once;
                    protected: only an admin or the product may create it or manage its machines)
  license suspend | reinstate | expire | renew | terminate   --license L [--reason R]
  license upgrade | downgrade   --license L --plan P   (by the plans' tier order)
  license note      --license L --note TEXT
  license set-quota --license L --seats N      (overrides the plan's seats)
  license rotate-key --license L               (prints the new key once; the old one stops working)
  license checkout  --license L [--fingerprint F] [--ttl-seconds N] [--save FILE]   (a signed file for
                    offline validation: the reply's "file"; bound to machine F if given)
  license signing-keys                         (the public keys license files are signed with; no
                    token needed)
  license verify-file --public-key KEY [--fingerprint F] FILE   (offline: checks FILE with the
                    public key alone; exit 0 and its contents, or non-zero and the reason)
  admin create      --reseller R --username U --profile system-admin|reseller-admin|tenant-admin [--tenant T]
                    [--first-name --last-name --email --language --role --password]
  admin update      --username U [--profile --first-name --last-name --email --language --role --password]
  admin delete      --username U
  admin login       --username U --password P   (a session token acting for the admin, shown once;
                    over NATS this needs a token of any credential: without one, POST /v1/admin.login)
  admin get         --username U [--format F]   (APIO's GET: every attribute but the password)
  admin list        [--reseller R] [--tenant T] [--profile TYPE] [--limit N] [--after NAME] [--format F]
                    (the admins the credential reaches: its reseller's, or its tenant's)
  credential issue  [--id ID] --role ROLE (--scope-reseller R [--scope-tenant T --scope-product P --scope-license L
                    --scope-user ADMIN] | --scope-company C --scope-end-user U | --scope-system true)
                    [--description D] [--access licenses=basic,...] [--expires-in 720h | --expires-at RFC3339]
                    (prints the token once; never more than the issuing credential has)
  credential disable | enable | revoke   --credential ID
  credential rotate --credential ID [--expires-in D | --expires-at T]   (prints the new token once)
  credential set-access --credential ID --access licenses=detail,credentials=basic
  credential update --credential ID --description D   (--description "" clears it)
  credential delete --credential ID   (revokes it and takes it out of every list; the history keeps it)
  credential get    --credential ID [--format F]   (with last login and last rotation)
  credential list   [--reseller R] [--tenant T] [--role ROLE] [--status enabled|disabled|revoked]
                    [--limit N] [--after ID] [--format F]
  webhook create    --url URL [--reseller R] [--types seat.registered.v1,...] [--id ID]   (prints the
                    signing secret once; the reseller's events, or every event without one)
  webhook update    --webhook W [--url URL] [--types a,b]
  webhook disable | enable | delete   --webhook W [--reason R]   (enable resumes where it stopped)
  webhook list      [--reseller R] [--limit N] [--after ID]
  webhook deliveries --webhook W   (its recent delivery attempts, newest first)
  machine activate  --license L --fingerprint F [--name N]   (up to the plan's machine limit)
  machine deactivate --license L --fingerprint F
  machine heartbeat --license L --fingerprint F   (floating licenses: keeps the machine activated)
  seat register     --license L --company C --user U
  seat unregister   --license L --company C --user U
Queries:
  usage quota       --license L | --reseller R [--as-of 2026-01-31T12:00:00Z | --as-of SEQUENCE]
                    (--as-of: the quota as it stood then, rebuilt from the log)
  usage summary     [--reseller R] [--tenant T] [--product P] [--plan P] [--status S] [--as-of …]
                    (totals of the licenses the token's scope reaches: by status, seats, active,
                    consumed, remaining, machines; overall and by reseller, tenant, product, plan)
  dashboard show    [--recent N]   (what the /dashboard page shows: the summary, the licenses nearest
                    their quota, the N most recent events in scope, publication and projection lag)
  dashboard history [--range hour|day|month|year] [--reseller R] [--tenant T] [--license L]
                    (the charts: totals at every minute, 15 minutes, 12 hours or week of the range,
                    each as the log stood then, and now)
  license validate  --key K [--fingerprint F] [--entitlements a,b]  (needs no token; not valid, with
                    ENTITLEMENTS_MISSING, if the license lacks one of them)
  seat authenticate --company C --user U [--license L] [--format F]   (DBSync authenticateUser)
  role show         --role R                   (the commands and queries a role may use)
  license details   [--company C [--user U]] [--reseller R] [--tenant T] [--product P] [--plan P]
                    [--status active|suspended|expired|terminated] [--limit N] [--after ID] [--format F]
                    (DBSync licenseDetails, filtered, paged)
                    --format: basic, standard, detail (the default) or expanded, up to the token's grant
                    Every query takes --min-sequence N: wait until the ledger reflects sequence N
                    (a command's reply says its sequence), for reading your writes anywhere.
Auditors (a token with the system scope: role auditor, or an admin; --key or
LICLEDGER_CHECKPOINT_KEY is the ledger's checkpoint verifier key, obtained out of band):
  audit key         [--data DIR]   (the verifier key: from a data dir offline, or asked of the ledger)
  audit checkpoint  [--size N]     (the latest signed checkpoint, or the first at or above N)
  audit events      [--from X] [--to Y] [--type T] [--subject S] [--reseller R] [--limit N]
                    (one page of events, exactly as stored; X, Y: a sequence or an RFC 3339 instant)
  audit prove       --sequence N | --event ID [--tree-size N] --key K
                    (checks that the event is in a signed checkpoint's tree, with the key alone)
  audit consistency --from FILE|SIZE [--to SIZE] --key K
                    (checks that the log was only appended to since an earlier checkpoint)
  audit replay      [--from X] [--to Y] [--type T] [--subject S] [--reseller R] [--stream]
                    (every selected event as CloudEvents JSON lines on stdout, from the query API
                    or, with --stream, straight from the JetStream stream LEDGER_EVENTS)
  audit export      --out FILE [the replay flags]   (the same into FILE, and the latest checkpoint
                    into FILE.checkpoint when the export is the whole log)
  audit verify      --key K (--data DIR | --file FILE | --stream) [--checkpoint FILE]
                    (recomputes the tree from a copy of the history: ledgerd's data dir, offline
                    and read-only; an export; or the stream. Checks gap-free sequences, unique ids,
                    and every signed checkpoint's root; names the first bad sequence)
Bulk:
  batch submit      --file FILE [--atomic true] [--size N]   (FILE: JSON lines, one
                    {"name": "seat.register", "body": {…}} per line, "-" for stdin; sent in batches
                    of N commands (default 500, at most 1000), each decided as if sent alone; with
                    --command-id ID batch k is idempotent as ID-k, so a rerun resumes where it
                    stopped; --atomic: all or nothing, for a file of one batch; prints a summary
                    and exits 1 if any command was refused)
Tools:
  demo              seeds a running ledger with a sample reseller, customers, plans, licenses,
                    seats and machines (needs an admin token; running it again changes nothing)
  inbox-prefix      prints the NATS inbox prefix the token's connections must use (for the stock
                    nats CLI: nats req --user "$TOKEN" --inbox-prefix "$(ledgerctl inbox-prefix)" …)
  feed-name         prints the name of the token's one consumer on the event stream (its reseller's feed)
  events follow     --reseller R [--from SEQ] [--count N]   prints the reseller's events as JSON lines,
                    from SEQ (default 1) on, then live, until N events (0: until interrupted); with
                    --partition K, from partition K's stream LEDGER_EVENTS_<K>
  completion        bash | zsh | fish   prints a completion script: commands, flags, and the values of
                    --role, --format, --profile, --status, --output (source <(ledgerctl completion bash))
  bench             --clients N --duration D [--batch N | --validate | --heartbeat]   (durable seat.register
                    throughput and latency; in batches; or anonymous license.validate)

Global flags (before the noun):
  --nats-url URL     NATS server (env LICLEDGER_NATS_URL, default nats://127.0.0.1:4222)
  --token T          bearer token (env LICLEDGER_TOKEN)
  --token-file F     file holding the token (env LICLEDGER_TOKEN_FILE, default ./data/bootstrap-admin.token)
  --command-id ID    idempotency key for a command: a retry with the same id returns the first reply
  --address R        address commands and queries to reseller R (ledger.v1.cmd.<command>.<R>;
                     env LICLEDGER_ADDRESS), as a cluster partitioned by reseller routes them
  --partition K      send requests straight to partition K of a partitioned ledger, and read its
                     stream LEDGER_EVENTS_<K> (env LICLEDGER_PARTITION): audit one partition
  --output json|table   indented JSON (the default) or a table: a list's items one row each,
                     anything else field by field (env LICLEDGER_OUTPUT)

Examples:
  ledgerctl --output table license details --reseller acme-partners --status active
  ledgerctl --token-file partner.token seat register --license lic-1 --company Globex --user bob
  ledgerctl --command-id renew-lic-1-2027 license renew --license lic-1
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	g, rest, err := parseGlobal(args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if rest[0] == "inbox-prefix" || rest[0] == "feed-name" {
		if g.token == "" {
			return needsToken(rest[0])
		}
		name := wire.InboxPrefix(g.token)
		if rest[0] == "feed-name" {
			name = wire.FeedConsumer(g.token)
		}
		fmt.Fprintln(stdout, name)
		return nil
	}
	if rest[0] == "completion" {
		if len(rest) != 2 {
			return fmt.Errorf("completion needs a shell: bash, zsh or fish")
		}
		return runCompletion(rest[1], stdout)
	}
	if rest[0] == "demo" {
		return runDemo(ctx, g, stdout)
	}
	if rest[0] == "audit" {
		return runAudit(ctx, g, rest[1:], getenv, stdout, stderr)
	}
	if len(rest) >= 2 && rest[0] == "license" && rest[1] == "verify-file" {
		return runVerifyFile(rest[2:], stdout, stderr)
	}
	if len(rest) >= 2 && rest[0] == "batch" && rest[1] == "submit" {
		return runBatch(ctx, g, rest[2:], stdout, stderr)
	}
	if len(rest) >= 2 && rest[0] == "events" && rest[1] == "follow" {
		return runFollow(ctx, g, rest[2:], stdout, stderr)
	}
	if rest[0] == "bench" {
		return runBench(ctx, g, rest[1:], stdout, stderr)
	}
	if len(rest) < 2 {
		return fmt.Errorf("%q needs a verb\n%s", rest[0], usage)
	}
	return runRequest(ctx, g, rest[0]+"."+rest[1], rest[2:], stdout, stderr)
}
