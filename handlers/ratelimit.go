package handlers

import (
	"sync"
	"time"
)

// authLimiter counts failed authentications per key (a source, or a presented token) in fixed
// windows. Once a key has failed Limit times in a window, its requests are refused with 429
// until the window ends, without looking at the token: a guesser learns nothing more and costs
// one map lookup. Successful authentications are not counted.
//
// Memory is bounded: at most maxKeys keys are tracked; when the table is full, windows that have
// ended are dropped, and if none has, the whole table is reset (an attacker spraying sources can
// at worst reset the counting, never grow the table).
type authLimiter struct {
	Limit  int
	Window time.Duration

	mu      sync.Mutex
	maxKeys int
	keys    map[string]*failWindow
}

type failWindow struct {
	start    time.Time
	failures int
}

func newAuthLimiter(limit int, window time.Duration) *authLimiter {
	return &authLimiter{Limit: limit, Window: window, maxKeys: 100_000, keys: map[string]*failWindow{}}
}

// blocked reports whether any of the keys has used up its failures at time now, and until when.
func (a *authLimiter) blocked(now time.Time, keys ...string) (bool, time.Time) {
	if a == nil || a.Limit <= 0 {
		return false, time.Time{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		if k == "" {
			continue
		}
		if w := a.keys[k]; w != nil && now.Sub(w.start) < a.Window && w.failures >= a.Limit {
			return true, w.start.Add(a.Window)
		}
	}
	return false, time.Time{}
}

// fail counts one failed authentication against each key.
func (a *authLimiter) fail(now time.Time, keys ...string) {
	if a == nil || a.Limit <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		if k == "" {
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
