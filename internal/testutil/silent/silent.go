// Package silent starts a TCP endpoint on 127.0.0.1 that accepts
// connections and never answers: the server that makes a client wait (a TLS
// handshake, an HTTP answer), for tests of timeouts and of what pfz says
// while it waits.
package silent

import (
	"net"
	"sync"
	"testing"
)

// Listen starts the endpoint and returns its host:port. Connections are
// held open until the test ends, then closed with the listener.
func Listen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close() // a test's listener: nothing to report
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
