package osb_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// closedPortURL is the URL of a local port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// rawBroker is a TCP server that reads each request whole and then hands
// the connection to answer, for failures httptest cannot produce: a reset
// connection, a malformed status line.
func rawBroker(t *testing.T, answer func(conn *net.TCPConn, req *http.Request)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err == nil {
					answer(conn.(*net.TCPConn), req)
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// resetConnection closes conn with an RST instead of a FIN: the broker
// received the request and may have acted on it.
func resetConnection(conn *net.TCPConn, _ *http.Request) {
	_ = conn.SetLinger(0)
	_ = conn.Close()
}

// roundTripFunc is an http.RoundTripper that fails the way a test needs.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
