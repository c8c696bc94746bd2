package realtime

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"tim/internal/config"
)

// natsServer runs an external NATS server on loopback at port (0: any).
func natsServer(t *testing.T, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(wait) {
		t.Fatal("nats server did not start")
	}
	return srv
}

// TestBusOutageHeals: while the bus is down, sends are committed and
// acked; once it is back, the recipient on another instance gets them, and
// a token revoked meanwhile (its event lost) closes its sockets. Not
// parallel: the bus comes back on the port it left, which a test running
// alongside could take meanwhile.
func TestBusOutageHeals(t *testing.T) {
	ns := natsServer(t, 0)
	addr := ns.Addr().(*net.TCPAddr)
	e := setup(t, func(c *config.Config) { c.NATS.URL = "nats://" + addr.String() })
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	cb := p.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	other := e.user("c")
	e.befriend("c", "b")
	cc := p.dial("/websocket/c", other)
	cc.Next()
	cc.Next()

	ns.Shutdown()
	ns.WaitForShutdown()
	const n = 5
	for i := range n {
		ca.Send(fmt.Sprintf("m%d", i))
	}
	ca.AcksAndMessages(n, n)
	claims, err := e.issuer.Parse(other)
	if err != nil {
		t.Fatal(err)
	}
	// c logs out while the bus is down: the event cannot travel.
	if err := e.q.RevokedTokenInsert(context.Background(), claims.JTI, "c", claims.ExpiresAt); err != nil {
		t.Fatal(err)
	}

	restarted := natsServer(t, addr.Port)
	defer func() { restarted.Shutdown(); restarted.WaitForShutdown() }()
	for i := range n {
		if m := cb.Message(); m.Seq != int64(i+1) || m.Message != fmt.Sprintf("m%d", i) {
			t.Fatalf("after the outage b got %+v, want seq %d", m, i+1)
		}
	}
	if code := cc.Closed(); code != CloseLoggedOut {
		t.Fatalf("c's socket closed with %d after the outage, want %d", code, CloseLoggedOut)
	}
}

// TestCrashedIncarnationGoesOffline: an instance with a configured id that
// crashes and restarts under the same id still has its former users
// announced offline, since every run is its own incarnation.
func TestCrashedIncarnationGoesOffline(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config.Config) { c.Realtime.PresenceTimeout, c.Realtime.InstanceID = 3*time.Second, "fixed" })
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	ca := p.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	if f := cb.NextOf("presence"); f["account"] != "a" || f["online"] != true {
		t.Fatalf("presence %v", f)
	}
	crashed := p.svc.instanceID
	p.crash()
	ca.Closed()
	p.start() // the same configured id, a new run
	if _, err := e.pool.Exec(context.Background(), `UPDATE instances SET last_seen = now() - interval '1 hour' WHERE id = $1`, crashed); err != nil {
		t.Fatal(err)
	}
	if f := cb.NextOf("presence"); f["account"] != "a" || f["online"] != false {
		t.Fatalf("presence %v, want a offline", f)
	}
}
