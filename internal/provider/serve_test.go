package provider

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

type requestKey struct{}

type requestPayload [64 << 10]byte

// schemaCall makes one GetProviderSchema call on srv with a request context
// carrying a 64 KiB value (as gRPC's stream and plugin-go's loggers are
// carried) and returns a weak pointer to that value.
func schemaCall(t *testing.T, srv tfprotov6.ProviderServer) weak.Pointer[requestPayload] {
	t.Helper()
	p := &requestPayload{}
	w := weak.Make(p)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), requestKey{}, p))
	defer cancel()
	resp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || len(resp.ResourceSchemas) == 0 {
		t.Fatalf("GetProviderSchema: %v, %d resource schemas", err, len(resp.ResourceSchemas))
	}
	return w
}

func released(w weak.Pointer[requestPayload]) bool {
	runtime.GC()
	runtime.GC()
	return w.Value() == nil
}

// The framework keeps every RPC's context until StopProvider; the scoped
// server hands it one that lets go of the request when the call returns.
func TestScopedServerLetsGoOfFinishedRequests(t *testing.T) {
	plain := providerserver.NewProtocol6(New("test")())()
	if released(schemaCall(t, plain)) {
		t.Log("the framework no longer keeps finished RPCs' contexts: scopedServer may be unnecessary (see package rpcctx)")
	}
	runtime.KeepAlive(plain)
	srv := ProtocolServer("test")()
	for range 3 {
		if w := schemaCall(t, srv); !released(w) {
			t.Fatal("a finished RPC's request context is still reachable through the scoped server")
		}
	}
	runtime.KeepAlive(srv) // the server (and what it keeps) outlives the checks
}
