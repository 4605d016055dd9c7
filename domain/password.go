package domain

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PasswordRule is a local rule for admin passwords. APIO hard-codes one ("min 8 chars, at least 1
// upper and 1 lower case") that "can be overwritten in project mode": here each part is a setting.
type PasswordRule struct {
	MinLength                   int // in characters
	Upper, Lower, Digit, Symbol bool
}

// APIOPasswordRule is APIO's local rule, the default.
var APIOPasswordRule = PasswordRule{MinLength: 8, Upper: true, Lower: true}

// Check refuses a password the rule does not allow, saying the whole rule.
func (r PasswordRule) Check(pw string) error {
	var upper, lower, digit, symbol bool
	for _, c := range pw {
		upper = upper || unicode.IsUpper(c)
		lower = lower || unicode.IsLower(c)
		digit = digit || unicode.IsDigit(c)
		symbol = symbol || unicode.IsPunct(c) || unicode.IsSymbol(c)
	}
	if utf8.RuneCountInString(pw) < r.MinLength || r.Upper && !upper || r.Lower && !lower || r.Digit && !digit || r.Symbol && !symbol {
		return Errorf(CodeInvalidArgument, "password", "must have %s", r)
	}
	return nil
}

// String says the rule in words: "at least 8 characters, one upper case letter, one lower case letter".
func (r PasswordRule) String() string {
	parts := []string{fmt.Sprintf("at least %d characters", max(r.MinLength, 1))}
	for _, p := range []struct {
		on   bool
		name string
	}{{r.Upper, "one upper case letter"}, {r.Lower, "one lower case letter"}, {r.Digit, "one digit"}, {r.Symbol, "one symbol"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, ", ")
}

// MaxPasswordMinLength bounds a rule's minimum length (argon2id hashes any length; a rule asking
// for more would lock everyone out by mistake).
const MaxPasswordMinLength = 128

// ParsePasswordRule reads a rule as a deployment writes it: "true" (APIO's rule), or the parts
// separated by commas, "min=12,upper,lower,digit,symbol". ok is false for "false": no rule.
func ParsePasswordRule(s string) (rule PasswordRule, ok bool, err error) {
	switch s = strings.TrimSpace(s); s {
	case "true":
		return APIOPasswordRule, true, nil
	case "false":
		return PasswordRule{}, false, nil
	}
	rule.MinLength = 1
	for _, part := range strings.Split(s, ",") {
		switch part = strings.TrimSpace(part); {
		case strings.HasPrefix(part, "min="):
			n, err := strconv.Atoi(strings.TrimPrefix(part, "min="))
			if err != nil || n < 1 || n > MaxPasswordMinLength {
				return PasswordRule{}, false, fmt.Errorf("%q: the minimum length must be 1 to %d", part, MaxPasswordMinLength)
			}
			rule.MinLength = n
		case part == "upper":
			rule.Upper = true
		case part == "lower":
			rule.Lower = true
		case part == "digit":
			rule.Digit = true
		case part == "symbol":
			rule.Symbol = true
		default:
			return PasswordRule{}, false, fmt.Errorf("%q is not a part of a password rule: use true, false, or min=N,upper,lower,digit,symbol", part)
		}
	}
	return rule, true, nil
}
