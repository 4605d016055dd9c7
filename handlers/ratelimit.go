package handlers

import (
	"sync"
	"sync/atomic"
	"time"
)

// authLimiter counts failed authentications per source and per presented token (by its keyed
// hash) in fixed windows. Once either has failed Limit times in a window, requests are refused
// with 429 until the window ends, without looking at the token: a guesser learns nothing more
// and costs one map lookup. Successful authentications are not counted.
//
// It sits on every request's path, so a request costs one atomic load while nothing has failed
// recently, and no allocation in any case.
//
// Memory is bounded: at most maxKeys keys are tracked; when the table is full, windows that have
// ended are dropped, and if none has, the whole table is reset (an attacker spraying sources can
// at worst reset the counting, never grow the table).
type authLimiter struct {
	Limit  int
	Window time.Duration

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
}

func newAuthLimiter(limit int, window time.Duration) *authLimiter {
	return &authLimiter{Limit: limit, Window: window, maxKeys: 100_000, keys: map[limitKey]*failWindow{}}
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
		if w := a.keys[k]; w != nil && now.Sub(w.start) < a.Window && w.failures >= a.Limit {
			return true, w.start.Add(a.Window)
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
		if w == nil || now.Sub(w.start) >= a.Window {
			if w == nil && len(a.keys) >= a.maxKeys {
				a.prune(now)
			}
			w = &failWindow{start: now}
			a.keys[k] = w
		}
		w.failures++
	}
	a.tracked.Store(int64(len(a.keys)))
}

// prune drops ended windows, or everything if none has ended. Called with mu held.
func (a *authLimiter) prune(now time.Time) {
	for k, w := range a.keys {
		if now.Sub(w.start) >= a.Window {
			delete(a.keys, k)
		}
	}
	if len(a.keys) >= a.maxKeys {
		clear(a.keys)
	}
}
