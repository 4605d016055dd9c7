package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// `ledgerctl completion bash|zsh|fish` prints a completion script for the shell, made from the
// same table the requests are sent from (requests), so a new command completes without a word
// here: nouns, their verbs, each one's flags, and the values of the flags that take one of a few.

// Values of the flags that take one of a known few. TestCompletionValuesAreTheLedgers holds them
// equal to the domain's lists.
var (
	completeRoles = []string{"admin", "developer", "sales-agent", "support-agent", "product", "user", "license", "anonymous",
		"client-all", "client-advanced", "client-standard", "client-limited",
		"reseller-all", "reseller-advanced", "reseller-standard", "reseller-limited",
		"system-admin", "reseller-admin", "tenant-admin", "auditor"}
	completeFormats  = []string{"basic", "standard", "detail", "expanded"}
	completeProfiles = []string{"system-admin", "reseller-admin", "tenant-admin"}
	flagValues       = map[string][]string{
		"role": completeRoles, "format": completeFormats, "profile": completeProfiles,
		"status": {"active", "suspended", "expired", "terminated", "enabled", "disabled", "revoked"},
		"output": {"json", "table"}, "atomic": {"true", "false"}, "stream": {"true", "false"},
		"protected": {"true", "false"}, "floating": {"true", "false"}, "scope-system": {"true"},
		"range": {"hour", "day", "month", "year"},
	}
	globalFlags = []string{"--nats-url", "--token", "--token-file", "--command-id", "--address", "--partition", "--output",
		"--tls-ca", "--client-cert", "--client-key"}
	// The subcommands ledgerctl handles itself, with their flags.
	ownCommands = map[string][]string{
		"audit key":           {"--data"},
		"audit checkpoint":    {"--size"},
		"audit events":        {"--from", "--to", "--type", "--subject", "--reseller", "--limit"},
		"audit prove":         {"--sequence", "--event", "--tree-size", "--key"},
		"audit consistency":   {"--from", "--to", "--key"},
		"audit replay":        {"--from", "--to", "--type", "--subject", "--reseller", "--stream"},
		"audit export":        {"--out", "--from", "--to", "--type", "--subject", "--reseller", "--stream"},
		"audit verify":        {"--key", "--data", "--file", "--stream", "--checkpoint"},
		"batch submit":        {"--file", "--atomic", "--size"},
		"events follow":       {"--reseller", "--from", "--count"},
		"license verify-file": {"--public-key", "--fingerprint"},
		"completion bash":     nil, "completion zsh": nil, "completion fish": nil,
	}
	ownWords = []string{"demo", "bench", "inbox-prefix", "feed-name", "help"}
)

// completionTable is every noun with its verbs, and every "noun verb" with its flags.
func completionTable() (verbs map[string][]string, flags map[string][]string) {
	verbs, flags = map[string][]string{}, map[string][]string{}
	add := func(noun, verb string, fl []string) {
		if !slices.Contains(verbs[noun], verb) {
			verbs[noun] = append(verbs[noun], verb)
		}
		flags[noun+" "+verb] = fl
	}
	for name, fields := range requests {
		noun, verb, _ := strings.Cut(name, ".")
		var fl []string
		for _, f := range fields {
			fl = append(fl, "--"+f.flag)
		}
		if isQuery[name] {
			fl = append(fl, "--min-sequence")
		}
		add(noun, verb, fl)
	}
	for cmd, fl := range ownCommands {
		noun, verb, _ := strings.Cut(cmd, " ")
		add(noun, verb, fl)
	}
	for _, v := range verbs {
		slices.Sort(v)
	}
	return verbs, flags
}

func runCompletion(shell string, w io.Writer) error {
	verbs, flags := completionTable()
	nouns := slices.Sorted(maps.Keys(verbs))
	nouns = append(nouns, ownWords...)
	switch shell {
	case "bash":
		writeBash(w, nouns, verbs, flags)
	case "zsh":
		// zsh runs the bash function through its bash completion layer.
		fmt.Fprintln(w, "autoload -U +X compinit && compinit")
		fmt.Fprintln(w, "autoload -U +X bashcompinit && bashcompinit")
		writeBash(w, nouns, verbs, flags)
	case "fish":
		writeFish(w, nouns, verbs, flags)
	default:
		return fmt.Errorf("completion: %q is not a shell it writes for: bash, zsh or fish", shell)
	}
	return nil
}

func writeBash(w io.Writer, nouns []string, verbs, flags map[string][]string) {
	fmt.Fprintln(w, `# ledgerctl completion for bash: source <(ledgerctl completion bash)`)
	fmt.Fprintln(w, `_ledgerctl() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" noun="" verb="" i w skip=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    if [[ -n $skip ]]; then skip=""; continue; fi
    case "$w" in
      --*=*) ;;
      --*) skip=1 ;;
      *) if [[ -z $noun ]]; then noun="$w"; elif [[ -z $verb ]]; then verb="$w"; fi ;;
    esac
  done
  local words=""
  case "$prev" in`)
	for _, f := range slices.Sorted(maps.Keys(flagValues)) {
		fmt.Fprintf(w, "    --%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", f, strings.Join(flagValues[f], " "))
	}
	fmt.Fprintln(w, `  esac
  if [[ -z $noun ]]; then
    words=`+fmt.Sprintf("%q", strings.Join(append(slices.Clone(nouns), globalFlags...), " "))+`
  elif [[ -z $verb ]]; then
    case "$noun" in`)
	for _, n := range slices.Sorted(maps.Keys(verbs)) {
		fmt.Fprintf(w, "      %s) words=%q ;;\n", n, strings.Join(verbs[n], " "))
	}
	fmt.Fprintln(w, `    esac
  else
    case "$noun $verb" in`)
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		fmt.Fprintf(w, "      %q) words=%q ;;\n", k, strings.Join(flags[k], " "))
	}
	fmt.Fprintln(w, `    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ledgerctl ledgerctl`)
}

func writeFish(w io.Writer, nouns []string, verbs, flags map[string][]string) {
	fmt.Fprintln(w, "# ledgerctl completion for fish: ledgerctl completion fish | source")
	fmt.Fprintln(w, "complete -c ledgerctl -f")
	for _, g := range globalFlags {
		fmt.Fprintf(w, "complete -c ledgerctl -n __fish_use_subcommand -l %s -r\n", strings.TrimPrefix(g, "--"))
	}
	fmt.Fprintf(w, "complete -c ledgerctl -n __fish_use_subcommand -a %q\n", strings.Join(nouns, " "))
	for _, n := range slices.Sorted(maps.Keys(verbs)) {
		fmt.Fprintf(w, "complete -c ledgerctl -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %q\n",
			n, strings.Join(verbs[n], " "), strings.Join(verbs[n], " "))
	}
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		noun, verb, _ := strings.Cut(k, " ")
		for _, f := range flags[k] {
			name := strings.TrimPrefix(f, "--")
			line := fmt.Sprintf("complete -c ledgerctl -n '__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s' -l %s", noun, verb, name)
			if vals, ok := flagValues[name]; ok {
				line += fmt.Sprintf(" -xa %q", strings.Join(vals, " "))
			} else {
				line += " -r"
			}
			fmt.Fprintln(w, line)
		}
	}
}
