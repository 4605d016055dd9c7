package handlers

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// authLimiter counts failed authentications per source and per presented token (by its keyed
// hash) in fixed windows. Once either has failed its limit in a window, requests are refused
// with 429 until the block ends, without looking at the token: a guesser learns nothing more
// and costs one map lookup. Successful authentications are not counted.
//
// A source is what the attacker cannot choose freely: a NATS connection (told apart by its inbox
// prefix), or a remote address for a NATS login or an HTTP request ("nats:<host>", "http:<host>").
// An address may be shared by many honest clients (a NAT, a TLS proxy: see the trusted proxies of
// the HTTP edge), so it gets AddressFactor times the limit, and a backoff instead: each window in
// a row in which it reaches its limit blocks it twice as long as the one before (at most 64
// windows). A token's and a connection's limit is Limit.
//
// It sits on every request's path, so a request costs one atomic load while nothing has failed
// recently, and no allocation in any case.
//
// Memory is bounded: at most maxKeys keys are tracked; when the table is full, windows that have
// ended are dropped, and if none has, the whole table is reset (an attacker spraying sources can
// at worst reset the counting, never grow the table).
type authLimiter struct {
	Limit         int
	Window        time.Duration
	AddressFactor int // an address's limit is Limit × AddressFactor. Default 10.

	tracked atomic.Int64 // len(keys), readable without the lock
	mu      sync.RWMutex
	maxKeys int
	keys    map[limitKey]*failWindow
}

// limitKey is a source ("" none) or a token hash ("" none); the two never share a count.
type limitKey struct {
	token bool
	id    string
}

type failWindow struct {
	start    time.Time
	failures int
	until    time.Time // blocked until then (zero: not blocked)
	strikes  int       // windows in a row that ended blocked (addresses' backoff)
}

func newAuthLimiter(limit int, window time.Duration) *authLimiter {
	return &authLimiter{Limit: limit, Window: window, AddressFactor: 10, maxKeys: 100_000, keys: map[limitKey]*failWindow{}}
}

// isAddress reports whether a source is a remote address, shared by whoever is behind it.
func isAddress(source string) bool {
	return strings.HasPrefix(source, "nats:") || strings.HasPrefix(source, "http:")
}

// limitOf is the failures key k may have in a window.
func (a *authLimiter) limitOf(k limitKey) int {
	if !k.token && isAddress(k.id) {
		return a.Limit * max(a.AddressFactor, 1)
	}
	return a.Limit
}

func keysOf(source, tokenHash string) [2]limitKey {
	return [2]limitKey{{id: source}, {token: true, id: tokenHash}}
}

// blocked reports whether the source or the token has used up its failures at time now, and
// until when.
func (a *authLimiter) blocked(now time.Time, source, tokenHash string) (bool, time.Time) {
	if a == nil || a.Limit <= 0 || a.tracked.Load() == 0 {
		return false, time.Time{}
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, k := range keysOf(source, tokenHash) {
		if k.id == "" {
			continue
		}
		if w := a.keys[k]; w != nil && now.Before(w.until) {
			return true, w.until
		}
	}
	return false, time.Time{}
}

// fail counts one failed authentication against the source and the token ("" for none).
func (a *authLimiter) fail(now time.Time, source, tokenHash string) {
	if a == nil || a.Limit <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keysOf(source, tokenHash) {
		if k.id == "" {
			continue
		}
		w := a.keys[k]
		switch {
		case w == nil:
			if len(a.keys) >= a.maxKeys {
				a.prune(now)
			}
			w = &failWindow{start: now}
			a.keys[k] = w
		case now.Sub(w.start) >= a.Window && !now.Before(w.until):
			strikes := 0
			if !w.until.IsZero() && now.Sub(w.until) < a.Window {
				strikes = w.strikes + 1 // blocked in the window just before: back off further
			}
			*w = failWindow{start: now, strikes: strikes}
		}
		w.failures++
		if w.failures == a.limitOf(k) {
			block := a.Window
			if !k.token && isAddress(k.id) {
				block = a.Window << min(w.strikes, 6)
			}
			w.until = w.start.Add(block)
		}
	}
	a.tracked.Store(int64(len(a.keys)))
}

// prune drops ended windows, or everything if none has ended. Called with mu held.
func (a *authLimiter) prune(now time.Time) {
	for k, w := range a.keys {
		if now.Sub(w.start) >= a.Window && !now.Before(w.until) {
			delete(a.keys, k)
		}
	}
	if len(a.keys) >= a.maxKeys {
		clear(a.keys)
	}
}
