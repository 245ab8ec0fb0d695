package provider

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
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

// TestScopedServerWrapsEveryUnaryRPC keeps scopedServer complete: every
// method of tfprotov6.ProviderServer but StopProvider (which ends the
// others) is declared on scopedServer itself, so none is promoted from the
// framework's server unscoped when plugin-go adds one.
func TestScopedServerWrapsEveryUnaryRPC(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "serve.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
			continue
		}
		if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok && id.Name == "scopedServer" {
			declared[fn.Name.Name] = true
		}
	}
	iface := reflect.TypeFor[tfprotov6.ProviderServer]()
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		if name != "StopProvider" && !declared[name] {
			t.Errorf("scopedServer does not wrap %s: it runs unscoped and its request stays in memory until StopProvider", name)
		}
	}
	if len(declared) < 20 {
		t.Errorf("found %d scopedServer methods in serve.go; the parse missed them", len(declared))
	}
}
