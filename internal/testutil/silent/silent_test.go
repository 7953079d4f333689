package silent

import (
	"errors"
	"net"
	"testing"
	"time"
)

// The endpoint accepts and then says nothing: a read waits until its deadline.
func TestListenAcceptsAndStaysSilent(t *testing.T) {
	addr := Listen(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read %d bytes, err %v: want a timeout", n, err)
	}
}
