package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
)

// ErrNotPermitted is returned at once, instead of a time-out, for a request the NATS server
// refused to carry: the connection's credential may not publish on the subject (an auditor
// sending a command), or may not read the inbox its replies would come to (a connection whose
// inbox prefix is not its token's).
var ErrNotPermitted = errors.New("client: the NATS server refused the request under this connection's permissions")

// denials hears a connection's permission violations, which the server reports asynchronously,
// and wakes the requests they concern. Connect installs one on every connection it makes.
type denials struct {
	mu      sync.Mutex
	waiting map[*waiter]string // a waiting request -> its subject
	next    nats.ErrHandler    // the caller's own handler, called as well
}

// waiter is one request waiting for its reply: a refusal cancels its context with the reason.
type waiter struct{ cancel context.CancelCauseFunc }

// connDenials finds a connection's denials (connections made by Connect only).
var connDenials sync.Map // *nats.Conn -> *denials

func (d *denials) handle(nc *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrPermissionViolation) {
		msg := err.Error()
		publish := strings.Contains(msg, "for Publish to")
		d.mu.Lock()
		for w, subject := range d.waiting {
			// A refused publish concerns the requests on its subject; a refused subscription (the
			// inbox) every request of the connection.
			if !publish || strings.Contains(msg, `"`+subject+`"`) {
				w.cancel(fmt.Errorf("%w: %s", ErrNotPermitted, msg))
			}
		}
		d.mu.Unlock()
	}
	if d.next != nil {
		d.next(nc, sub, err)
	}
}

// watch registers a request on subject: the server's refusal, if any, cancels its context.
func (d *denials) watch(subject string, cancel context.CancelCauseFunc) *waiter {
	w := &waiter{cancel}
	d.mu.Lock()
	d.waiting[w] = subject
	d.mu.Unlock()
	return w
}

func (d *denials) unwatch(w *waiter) {
	d.mu.Lock()
	delete(d.waiting, w)
	d.mu.Unlock()
}

// withDenials adds the handlers that track a connection's denials to opts, keeping the caller's
// own error and closed handlers.
func withDenials(opts []nats.Option) (*denials, []nats.Option) {
	o := nats.GetDefaultOptions()
	for _, opt := range opts {
		_ = opt(&o)
	}
	d := &denials{waiting: map[*waiter]string{}, next: o.AsyncErrorCB}
	closed := o.ClosedCB
	return d, append(opts, nats.ErrorHandler(d.handle), nats.ClosedHandler(func(nc *nats.Conn) {
		connDenials.Delete(nc)
		if closed != nil {
			closed(nc)
		}
	}))
}
