package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"strings"
	"sync"
)

// ServerKeySize is the length of the server secret (stored in <data>/server.key).
const ServerKeySize = 32

// TokenPrefix marks licledger API tokens, so secret scanners can spot them.
const TokenPrefix = "lic_"

var b32 = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding) // Crockford

// Secrets derives every keyed hash and seal from the server key.
type Secrets struct {
	tokens, licenses *keyedHasher
	seal             cipher.AEAD
}

// NewSecrets derives independent keys for tokens, license keys and sealed replies.
func NewSecrets(serverKey []byte) (*Secrets, error) {
	if len(serverKey) != ServerKeySize {
		return nil, errors.New("handlers: server key must be 32 bytes")
	}
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, serverKey)
		m.Write([]byte("licledger/" + purpose))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Secrets{tokens: newKeyedHasher(derive("token")), licenses: newKeyedHasher(derive("license-key")), seal: aead}, nil
}

// keyedHasher computes HMAC-SHA-256 under one key. Every request hashes its token, and setting
// up an HMAC (two SHA-256 states keyed with the padded key) costs more than hashing a token, so
// keyed states are pooled and Reset, which returns them to just after keying.
type keyedHasher struct{ pool sync.Pool }

func newKeyedHasher(key []byte) *keyedHasher {
	k := &keyedHasher{}
	k.pool.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

// sum is the hex HMAC of s.
func (k *keyedHasher) sum(s string) string {
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, s)
	var out [sha256.Size]byte
	sum := m.Sum(out[:0])
	k.pool.Put(m)
	return hex.EncodeToString(sum)
}

// NewToken draws an API token: "lic_", then 32 random bytes and a CRC-32 of them in Crockford
// base32. It returns the token, its keyed hash and a display prefix.
func (s *Secrets) NewToken() (token, hash, prefix string) {
	var raw [36]byte
	_, _ = rand.Read(raw[:32])
	binary.BigEndian.PutUint32(raw[32:], crc32.ChecksumIEEE(raw[:32]))
	token = TokenPrefix + strings.ToLower(b32.EncodeToString(raw[:]))
	return token, s.TokenHash(token), token[:len(TokenPrefix)+6]
}

// TokenHash is the keyed hash under which a token is stored.
func (s *Secrets) TokenHash(token string) string { return s.tokens.sum(token) }

// WellFormedToken checks a token's prefix, length, alphabet and checksum without any lookup, so
// garbage is refused before it costs a hash.
func WellFormedToken(token string) bool {
	if !strings.HasPrefix(token, TokenPrefix) {
		return false
	}
	raw, err := b32.DecodeString(strings.ToUpper(token[len(TokenPrefix):]))
	if err != nil || len(raw) != 36 {
		return false
	}
	return binary.BigEndian.Uint32(raw[32:]) == crc32.ChecksumIEEE(raw[:32])
}

// NewLicenseKey draws a license key: 20 random bytes as eight groups of four Crockford base32
// characters. It returns the key, its keyed hash and its last group as a hint.
func (s *Secrets) NewLicenseKey() (key, hash, hint string) {
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	enc := b32.EncodeToString(raw[:])
	groups := make([]string, 0, 8)
	for i := 0; i < len(enc); i += 4 {
		groups = append(groups, enc[i:i+4])
	}
	key = strings.Join(groups, "-")
	return key, s.LicenseKeyHash(key), groups[len(groups)-1]
}

// LicenseKeyHash is the keyed hash under which a license key is stored.
func (s *Secrets) LicenseKeyHash(key string) string {
	return s.licenses.sum(strings.ToUpper(key))
}

// Stored replies start with one byte saying how the rest is kept.
const (
	replyPlain  byte = 0
	replySealed byte = 1
)

// storeReply returns the form of a reply kept in the idempotency table.
func (s *Secrets) storeReply(reply []byte, secret bool) []byte {
	if !secret {
		return append([]byte{replyPlain}, reply...)
	}
	nonce := make([]byte, s.seal.NonceSize(), 1+s.seal.NonceSize()+len(reply)+s.seal.Overhead())
	_, _ = rand.Read(nonce)
	out := append([]byte{replySealed}, nonce...)
	return s.seal.Seal(out, nonce, reply, nil)
}

// openReply turns a stored reply back into the wire reply.
func (s *Secrets) openReply(stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, errors.New("handlers: empty stored reply")
	}
	switch stored[0] {
	case replyPlain:
		return stored[1:], nil
	case replySealed:
		n := s.seal.NonceSize()
		if len(stored) < 1+n {
			return nil, errors.New("handlers: truncated sealed reply")
		}
		return s.seal.Open(nil, stored[1:1+n], stored[1+n:], nil)
	}
	return nil, errors.New("handlers: unknown stored reply form")
}

// webhookSecretAD binds a sealed webhook secret to its purpose: no other sealed value opens as one.
var webhookSecretAD = []byte("licledger webhook secret v1")

// NewWebhookSecret draws a webhook's signing secret in the Standard Webhooks form ("whsec_" and
// the base64 of 24 random bytes) and returns it with its sealed form, which the log keeps.
func (s *Secrets) NewWebhookSecret() (secret, sealed string) {
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	secret = "whsec_" + base64.StdEncoding.EncodeToString(raw)
	nonce := make([]byte, s.seal.NonceSize())
	_, _ = rand.Read(nonce)
	return secret, base64.StdEncoding.EncodeToString(s.seal.Seal(nonce, nonce, []byte(secret), webhookSecretAD))
}

// OpenWebhookSecret opens a sealed webhook secret, for signing a delivery.
func (s *Secrets) OpenWebhookSecret(sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.seal.NonceSize() {
		return "", errors.New("handlers: malformed sealed webhook secret")
	}
	n := s.seal.NonceSize()
	plain, err := s.seal.Open(nil, b[:n], b[n:], webhookSecretAD)
	return string(plain), err
}
