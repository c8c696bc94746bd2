package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"go.uber.org/goleak"

	"tim/internal/bus"
	"tim/internal/testlog"
	"tim/internal/testwait"
)

const wait = 10 * time.Second

var ctx = context.Background()

func testLogger(t *testing.T) *slog.Logger { return testlog.Logger(t, slog.LevelDebug) }

func start(t *testing.T, url string, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b, err := bus.Start(ctx, url, testLogger(t), opts...)
	if err != nil {
		t.Fatalf("start bus: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// roundTrip publishes on one connection and expects the message on the other.
func roundTrip(t *testing.T, pub, sub *nats.Conn) {
	t.Helper()
	subject := fmt.Sprintf("test.%d", time.Now().UnixNano())
	ch := make(chan *nats.Msg, 1)
	s, err := sub.ChanSubscribe(subject, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(subject, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if string(m.Data) != "hello" {
			t.Fatalf("got %q", m.Data)
		}
	case <-time.After(wait):
		t.Fatal("message not delivered")
	}
}

// hostPort is the address of a nats:// URL, without its credentials.
func hostPort(t *testing.T, s string) string {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestEmbeddedServerRequiresItsToken(t *testing.T) {
	t.Parallel()
	b := start(t, "")
	addr := hostPort(t, b.ClientURL())
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Errorf("embedded server listens on %s, want loopback", addr)
	}

	// A client without the token, or with a wrong one, is refused: it can
	// neither read, publish nor fake presence.
	for _, u := range []string{"nats://" + addr, "nats://wrong-token@" + addr, "nats://user:pass@" + addr} {
		nc, err := nats.Connect(u, nats.MaxReconnects(0))
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected without the token", u)
			continue
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: err = %v, want authorization violation", u, err)
		}
	}

	// Tim's own connection works, and so does another instance given
	// ClientURL.
	roundTrip(t, b.Conn(), b.Conn())
	peer := start(t, b.ClientURL())
	roundTrip(t, b.Conn(), peer.Conn())
	roundTrip(t, peer.Conn(), b.Conn())

	// Each process makes its own token.
	other := start(t, "")
	if tok := func(s string) string { u, _ := url.Parse(s); return u.User.Username() }; tok(other.ClientURL()) == tok(b.ClientURL()) || tok(b.ClientURL()) == "" {
		t.Errorf("tokens %q and %q", b.ClientURL(), other.ClientURL())
	}
}

// runServer starts an in-process NATS server on loopback; port 0 picks one.
func runServer(t *testing.T, opts server.Options, port int) *server.Server {
	t.Helper()
	opts.Host = "127.0.0.1"
	opts.Port = port
	if port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(wait) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func TestExternalServerUserPasswordAndToken(t *testing.T) {
	t.Parallel()
	users := runServer(t, server.Options{Username: "tim", Password: "s3cret-pw"}, 0)
	addr := users.Addr().String()
	b := start(t, "nats://tim:s3cret-pw@"+addr)
	roundTrip(t, b.Conn(), b.Conn())

	_, err := bus.Start(ctx, "nats://tim:wrong-pw@"+addr, testLogger(t))
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("wrong password: err = %v, want authorization violation", err)
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("error reveals the password: %v", err)
	}
	t.Logf("wrong password: %v", err)

	tokens := runServer(t, server.Options{Authorization: "tok-123"}, 0)
	b = start(t, "nats://tok-123@"+tokens.Addr().String())
	roundTrip(t, b.Conn(), b.Conn())
	_, err = bus.Start(ctx, "nats://tok-456@"+tokens.Addr().String(), testLogger(t))
	if !errors.Is(err, nats.ErrAuthorization) || strings.Contains(err.Error(), "tok-456") {
		t.Fatalf("wrong token: err = %v", err)
	}

	// A malformed URL is rejected without echoing its password.
	_, err = bus.Start(ctx, "nats://tim:s3cret-pw@["+addr, testLogger(t))
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("malformed url: err = %v", err)
	}
}

func TestExternalServerNKeyAndCreds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	seedFile := filepath.Join(dir, "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	nk := runServer(t, server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}}, 0)
	b := start(t, "nats://"+nk.Addr().String(), bus.WithNKeySeedFile(seedFile))
	roundTrip(t, b.Conn(), b.Conn())
	if _, err := bus.Start(ctx, "nats://"+nk.Addr().String(), testLogger(t)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("no nkey: err = %v", err)
	}

	// Decentralized JWT authentication: operator signs account signs user.
	op, _ := nkeys.CreateOperator()
	opPub, _ := op.PublicKey()
	opJWT, err := jwt.NewOperatorClaims(opPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	opClaims, err := jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := nkeys.CreateAccount()
	accPub, _ := acc.PublicKey()
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	userJWT, err := jwt.NewUserClaims(pub).Encode(acc)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(dir, "tim.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(accPub, accJWT); err != nil {
		t.Fatal(err)
	}
	op1 := runServer(t, server.Options{TrustedOperators: []*jwt.OperatorClaims{opClaims}, AccountResolver: resolver}, 0)
	b = start(t, "nats://"+op1.Addr().String(), bus.WithCredsFile(credsFile))
	roundTrip(t, b.Conn(), b.Conn())
	if _, err := bus.Start(ctx, "nats://"+op1.Addr().String(), testLogger(t)); err == nil {
		t.Fatal("connected to an operator-mode server without creds")
	}

	// A missing file is named in the error.
	_, err = bus.Start(ctx, "nats://"+op1.Addr().String(), testLogger(t), bus.WithCredsFile(filepath.Join(dir, "nope.creds")))
	if err == nil || !strings.Contains(err.Error(), "creds file") {
		t.Fatalf("missing creds file: err = %v", err)
	}
}

// pki writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in dir.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "EC PRIVATE KEY", der)
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tim test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	srvDER, srvKey := leaf(2, "nats", x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := leaf(3, "tim", x509.ExtKeyUsageClientAuth)
	return pki{
		ca:         write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("server.pem", "CERTIFICATE", srvDER),
		serverKey:  writeKey("server-key.pem", srvKey),
		clientCert: write("client.pem", "CERTIFICATE", cliDER),
		clientKey:  writeKey("client-key.pem", cliKey),
	}
}

func TestExternalServerMutualTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t, t.TempDir())
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.ca, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := runServer(t, server.Options{TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 5, Username: "tim", Password: "pw"}, 0)
	u := "tls://tim:pw@" + srv.Addr().String()

	b := start(t, u, bus.WithRootCAs(p.ca), bus.WithClientCert(p.clientCert, p.clientKey))
	roundTrip(t, b.Conn(), b.Conn())
	if !b.Conn().TLSRequired() {
		t.Error("connection is not TLS")
	}

	// Without the CA the server's certificate is not trusted; without a
	// client certificate the server refuses the client.
	if _, err := bus.Start(ctx, u, testLogger(t), bus.WithClientCert(p.clientCert, p.clientKey)); err == nil {
		t.Error("connected without trusting the CA")
	} else {
		t.Logf("no CA: %v", err)
	}
	if _, err := bus.Start(ctx, u, testLogger(t), bus.WithRootCAs(p.ca)); err == nil {
		t.Error("connected without a client certificate")
	} else {
		t.Logf("no client certificate: %v", err)
	}
	if _, err := bus.Start(ctx, u, testLogger(t), bus.WithRootCAs(p.ca), bus.WithClientCert(p.clientCert, "")); err == nil {
		t.Error("accepted a certificate without its key")
	}
}

// recv waits for a signal on ch.
func recv(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s: not within %s", what, wait)
	}
}

func TestConnectionStateAndCallbacks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := runServer(t, server.Options{}, 0)
	port := srv.Addr().(*net.TCPAddr).Port
	b, err := bus.Start(ctx, fmt.Sprintf("nats://127.0.0.1:%d", port), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Connected() || b.Reconnects() != 0 {
		t.Fatalf("connected %v, reconnects %d", b.Connected(), b.Reconnects())
	}

	disconnected := make(chan struct{}, 10)
	reconnected := make(chan struct{}, 10)
	removedRan := make(chan struct{}, 10)
	release := make(chan struct{})
	remove := b.OnReconnect(func() { removedRan <- struct{}{} })
	b.OnDisconnect(func() {
		disconnected <- struct{}{}
		<-release // a slow callback must not hold up the client
	})
	b.OnReconnect(func() { reconnected <- struct{}{} })
	remove()

	srv.Shutdown()
	srv.WaitForShutdown()
	recv(t, disconnected, "disconnect callback")
	testwait.Eventually(t, wait, func() error {
		if b.Connected() {
			return errors.New("still connected")
		}
		return nil
	})

	// The same port again: the client comes back on its own, while the
	// disconnect callback is still blocked.
	srv = runServer(t, server.Options{}, port)
	testwait.Eventually(t, wait, func() error {
		if !b.Connected() {
			return errors.New("not connected again")
		}
		return nil
	})
	roundTrip(t, b.Conn(), b.Conn())
	// The client counts the reconnect in its handler, which it runs after
	// it reports itself connected.
	testwait.Eventually(t, wait, func() error {
		if b.Reconnects() == 0 {
			return errors.New("the reconnect is not counted")
		}
		return nil
	})
	if n := b.Reconnects(); n != 1 {
		t.Errorf("reconnects = %d, want 1", n)
	}
	close(release)
	recv(t, reconnected, "reconnect callback")
	select {
	case <-removedRan:
		t.Error("an unregistered callback ran")
	default:
	}

	// Close is not a disconnect to report, and leaves no goroutine behind.
	b.Close()
	if b.Connected() {
		t.Error("connected after Close")
	}
	select {
	case <-disconnected:
		t.Error("disconnect callback ran for Close")
	default:
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	goleak.VerifyNone(t, ignore)
}
