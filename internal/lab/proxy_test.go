package lab

import (
	"io"
	"net"
	"testing"
	"time"
)

// fakeBackend stands in for sshd: it reads what the proxy writes to in and
// answers through out.
type fakeBackend struct {
	outR *io.PipeReader
	inW  *io.PipeWriter
}

func (b *fakeBackend) Read(p []byte) (int, error)  { return b.outR.Read(p) }
func (b *fakeBackend) Write(p []byte) (int, error) { return b.inW.Write(p) }
func (b *fakeBackend) CloseWrite() error           { return b.inW.Close() }
func (b *fakeBackend) Close() error                { b.outR.Close(); return b.inW.Close() }
func (b *fakeBackend) Wait(time.Duration)          {}

// proxyPair returns a client connection whose server side is pumped to a
// fake backend; the backend's ends are returned for the test to drive.
func proxyPair(t *testing.T, latency time.Duration) (client net.Conn, p *proxyConn, inR *io.PipeReader, outW *io.PipeWriter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	tc, ok := srv.(*net.TCPConn)
	if !ok {
		t.Fatalf("accepted %T, want *net.TCPConn", srv)
	}
	p = &proxyConn{client: tc}
	p.setBackend(&fakeBackend{outR: outR, inW: inW})
	go p.pump(latency)
	return client, p, inR, outW
}

func TestPumpDeliversLastWordsOfExitedBackend(t *testing.T) {
	for _, lat := range []time.Duration{0, 20 * time.Millisecond} {
		client, _, inR, outW := proxyPair(t, lat)
		go func() {
			buf := make([]byte, 5)
			_, _ = io.ReadFull(inR, buf)
			inR.Close() // the backend stops reading (exited) ...
			_, _ = outW.Write([]byte("bye"))
			outW.Close() // ... after its last words
		}()
		if _, err := client.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		_, _ = client.Write([]byte("more data the backend never reads"))
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(client)
		if err != nil || string(got) != "bye" {
			t.Errorf("latency %v: client read %q, %v; want \"bye\" then a clean EOF", lat, got, err)
		}
	}
}

func TestPumpAbortResetsClient(t *testing.T) {
	client, p, inR, _ := proxyPair(t, 0)
	go func() { _, _ = io.Copy(io.Discard, inR) }()
	p.abort()
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(client)
	if err == nil {
		t.Errorf("client saw a clean EOF after abort, want a reset")
	}
}
