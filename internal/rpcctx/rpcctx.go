// Package rpcctx bounds what a finished RPC's context keeps alive.
//
// terraform-plugin-framework (v1.19.0, internal/proto6server registerContext)
// wraps every RPC's context in context.WithCancel and keeps the cancel
// function until StopProvider, which Terraform sends only on an interrupt.
// Each kept function holds its context, and through it the request's whole
// chain: terraform-plugin-go's per-RPC loggers and the gRPC stream, about
// 50 KB per RPC. A plan of 1,000 resources makes several thousand RPCs, so
// the provider's heap grew with every resource in the state until the
// process ended (docs/benchmarks.md).
//
// Scope hands the framework a small context that delegates to the request's
// context while the RPC runs; its release, once the RPC has returned, swaps
// the request's context for an ended one (done, Canceled, no values), so
// what the framework keeps is a few words per RPC.
package rpcctx

import (
	"context"
	"sync/atomic"
	"time"
)

// ended is what a released scope delegates to: done, with no values.
var ended = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

type innerKey struct{}

// scoped delegates every call to the request's context until released.
type scoped struct {
	inner atomic.Pointer[context.Context]
}

func (s *scoped) ctx() context.Context { return *s.inner.Load() }

func (s *scoped) Deadline() (time.Time, bool) { return s.ctx().Deadline() }
func (s *scoped) Done() <-chan struct{}       { return s.ctx().Done() }
func (s *scoped) Err() error                  { return s.ctx().Err() }

func (s *scoped) Value(key any) any {
	if _, ok := key.(innerKey); ok {
		if s.ctx() == ended {
			return nil
		}
		return s
	}
	return s.ctx().Value(key)
}

// Scope returns a context for one RPC's handler and the release to call
// when the handler has returned. After release the context is done and
// carries no values; whatever was derived from it loses its link to the
// request.
func Scope(parent context.Context) (context.Context, func()) {
	s := &scoped{}
	s.inner.Store(&parent)
	return s, func() {
		e := ended
		s.inner.Store(&e)
	}
}

// Lasting returns a context for work that outlives the RPC (a connection's
// monitor, its keepalive): the request's values, never done, and not tied to
// the scope, so a release does not empty it. What it keeps lives as long as
// that work does, not as long as the process. Values added below the scope
// (the framework's own loggers, fields) are not in it. Outside a scope, or once the
// scope is released, it is context.WithoutCancel(ctx).
func Lasting(ctx context.Context) context.Context {
	if s, ok := ctx.Value(innerKey{}).(*scoped); ok {
		if live := s.ctx(); live != ended {
			return context.WithoutCancel(live)
		}
	}
	return context.WithoutCancel(ctx)
}
