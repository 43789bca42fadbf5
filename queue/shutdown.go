package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// stages are the contexts of a running loop's work, cut one after the
// other when it stops (see Run).
type stages struct {
	// claim is Run's context: once it is done nothing more is claimed, and
	// claimed items not yet sent are released with their attempt refunded.
	claim context.Context
	// send carries the sends in flight: it is cut DrainTimeout after claim
	// is done.
	send context.Context
	// finish carries the decisions and the writing of outcomes: it is cut
	// FinalWriteTimeout after send, so that Run returns, and the caller
	// may close the database, within DrainTimeout + FinalWriteTimeout of
	// the stop.
	finish context.Context
}

// errSendCut is the cause the sends still in flight are cut with.
var errSendCut = errors.New("the delivery loop is stopping")

// oneStage runs everything on ctx (RunOnce: nothing outlives its caller).
func oneStage(ctx context.Context) stages { return stages{claim: ctx, send: ctx, finish: ctx} }

// stagesOf returns the stages of a run on ctx, and the function that lets
// go of them when the run is over.
func (l *Loop) stagesOf(ctx context.Context) (stages, func()) {
	send, cutSends := context.WithCancelCause(context.WithoutCancel(ctx))
	finish, cutFinish := context.WithCancel(context.WithoutCancel(ctx))
	over := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-over:
			return
		}
		t := time.NewTimer(l.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cutSends(errSendCut)
		case <-over:
			return
		}
		t.Reset(l.cfg.FinalWriteTimeout)
		select {
		case <-t.C:
			cutFinish()
		case <-over:
		}
	}()
	return stages{claim: ctx, send: send, finish: finish}, func() {
		close(over)
		cutSends(nil)
		cutFinish()
	}
}

// cut reports whether the sends of s were cut by the stop.
func (s stages) cut() bool { return errors.Is(context.Cause(s.send), errSendCut) }

// cutMidSend is the error of a send the stop cut while it was with the
// gateway. The provider may or may not have received it, so it counts as
// an attempt and is retried after the backoff, as a send that timed out
// is: the attempt limit then still bounds how often one person can be
// messaged, and a provider slow enough to hold a send until the deadline
// gets the backoff's respite. (Releasing it with the attempt refunded is
// for claims that surely never reached the provider.)
func cutMidSend(err error) error {
	return Classify(Retry, "", fmt.Errorf("cut off mid-send by shutdown; the provider may have received it: %w", err))
}
