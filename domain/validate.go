package domain

import (
	"unicode"
	"unicode/utf8"
)

// MaxIDLength and MaxNameLength bound identifiers and free text.
const (
	MaxIDLength   = 64
	MaxNameLength = 200
)

// ValidID reports whether id is a well-formed identifier: 1–64 characters of A–Z, a–z, 0–9,
// '_' and '-', starting with a letter or digit. Ids appear in NATS subjects and Pebble keys, so
// dots, spaces and wildcards are never allowed.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

func checkID(field, id string) error {
	if id == "" {
		return Errorf(CodeInvalidArgument, field, "is required")
	}
	if !ValidID(id) {
		return Errorf(CodeInvalidArgument, field, "must be 1-%d letters, digits, '_' or '-', starting with a letter or digit", MaxIDLength)
	}
	return nil
}

// checkText accepts 1–200 characters of valid UTF-8 without control characters.
func checkText(field, s string) error {
	if s == "" {
		return Errorf(CodeInvalidArgument, field, "is required")
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalidArgument, field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxNameLength {
		return Errorf(CodeInvalidArgument, field, "must be at most %d characters", MaxNameLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Errorf(CodeInvalidArgument, field, "must not contain control characters")
		}
	}
	return nil
}

func checkRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return Errorf(CodeInvalidArgument, field, "must be between %d and %d", lo, hi)
	}
	return nil
}
