package rpcctx

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"weak"
)

type key struct{}

type payload [64 << 10]byte

// keeper does what terraform-plugin-framework's registerContext does: it
// keeps the cancel function of a context derived from the handler's.
type keeper struct{ cancels []context.CancelFunc }

func (k *keeper) derive(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	k.cancels = append(k.cancels, cancel)
	return ctx
}

// request runs one RPC's handler against a request context carrying a
// 64 KiB value, and returns a weak pointer to that value.
func request(k *keeper, scoped bool) weak.Pointer[payload] {
	p := &payload{}
	w := weak.Make(p)
	req, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, p))
	defer cancel()
	ctx := req
	if scoped {
		var release func()
		ctx, release = Scope(req)
		defer release()
	}
	handler := k.derive(ctx)
	if handler.Value(key{}) != p {
		panic("the handler does not see the request's values")
	}
	return w
}

func collected(w weak.Pointer[payload]) bool {
	runtime.GC()
	runtime.GC()
	return w.Value() == nil
}

func TestReleaseFreesWhatTheFrameworkKeeps(t *testing.T) {
	var k keeper
	if w := request(&k, false); collected(w) {
		t.Fatal("without a scope the kept cancel function should hold the request's value (the leak this package bounds)")
	}
	if w := request(&k, true); !collected(w) {
		t.Fatal("after release the request's value is still reachable from the kept cancel function")
	}
	if len(k.cancels) != 2 {
		t.Fatalf("kept %d cancel functions, want 2", len(k.cancels))
	}
}

func TestScopeDelegatesUntilReleased(t *testing.T) {
	req, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancel()
	ctx, release := Scope(req)
	child, childCancel := context.WithCancel(ctx)
	defer childCancel()
	if got := child.Value(key{}); got != "v" {
		t.Fatalf("value through the scope = %v, want v", got)
	}
	if child.Err() != nil {
		t.Fatalf("live scope: Err = %v", child.Err())
	}
	release()
	if got := ctx.Value(key{}); got != nil {
		t.Fatalf("released scope still carries %v", got)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("released scope: Err = %v, want Canceled", ctx.Err())
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("released scope is not done")
	}
	// The child registered with the request's context: canceling the
	// request still reaches it.
	cancel()
	<-child.Done()
}

func TestRequestCancelReachesTheHandler(t *testing.T) {
	req, cancel := context.WithCancel(context.Background())
	ctx, release := Scope(req)
	defer release()
	child, childCancel := context.WithCancel(ctx)
	defer childCancel()
	cancel()
	<-child.Done()
	if !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("child Err = %v", child.Err())
	}
}

func TestLastingOutlivesTheScope(t *testing.T) {
	req, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ctx, release := Scope(req)
	lasting := Lasting(ctx)
	release()
	cancel()
	if got := lasting.Value(key{}); got != "v" {
		t.Fatalf("lasting value = %v, want v", got)
	}
	if lasting.Done() != nil || lasting.Err() != nil {
		t.Fatal("lasting context is done")
	}
	if got := Lasting(ctx).Value(key{}); got != nil {
		t.Fatalf("Lasting of a released scope carries %v", got)
	}
	if got := Lasting(context.WithValue(context.Background(), key{}, "w")).Value(key{}); got != "w" {
		t.Fatalf("Lasting outside a scope = %v, want w", got)
	}
}
