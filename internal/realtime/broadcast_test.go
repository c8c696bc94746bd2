package realtime

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"tim/internal/testwait"
)

// TestRightsChangeWaitsOnlyForLiveInstances: a change of rights waits for
// the instances that answer, not for one that died (gone from the bus
// while its heartbeat is still recent) nor for one whose heartbeat lapsed.
func TestRightsChangeWaitsOnlyForLiveInstances(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p, q := e.peer(), e.peer()
	live, dead := p.svc.instanceID, q.svc.instanceID
	ctx := context.Background()
	e.svc.broadcasted.Init()
	disconnect := func() broadcastTrace {
		t.Helper()
		if err := e.svc.Disconnect(ctx, "nobody", ""); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
		return e.svc.broadcasted.WaitOrTimeout(t)
	}
	if tr := disconnect(); len(tr.asked) != 2 || len(tr.answered) != 2 {
		t.Fatalf("with two peers: %+v, want both asked and answered", tr)
	}

	// q dies; its heartbeat stays recent. The flush makes sure that the end
	// of its subscriptions reached the bus.
	q.crash()
	if err := q.bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if tr := disconnect(); !slices.Contains(tr.asked, dead) || !slices.Equal(tr.gone, []string{dead}) || !slices.Equal(tr.answered, []string{live}) {
		t.Errorf("with a dead peer: %+v, want %s found gone and %s answered", tr, dead, live)
	}

	// p lives on, but its heartbeat lapsed: it is not asked (a beat of
	// its own may renew the heartbeat in between: then try again).
	testwait.Eventually(t, wait, func() error {
		if _, err := e.pool.Exec(ctx, `UPDATE instances SET last_seen = now() - interval '1 hour' WHERE id = $1`, live); err != nil {
			t.Fatal(err)
		}
		if tr := disconnect(); slices.Contains(tr.asked, live) {
			return fmt.Errorf("with a peer whose heartbeat lapsed: %+v, want it not asked", tr)
		}
		return nil
	})
}

// TestSilentInstanceIsWaitedForOnce: an instance that is on the bus and
// beats its heartbeat but does not answer (hung) costs one change of
// rights the whole wait; the next ones ask it without waiting, until it
// answers again.
func TestSilentInstanceIsWaitedForOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.svc.cfg.BroadcastWait = 300 * time.Millisecond
	ctx := context.Background()
	const ghost = "ghost"
	if err := e.q.InstanceHeartbeat(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	hung, err := e.bus.Conn().SubscribeSync(subjectClose + "." + ghost) // never read
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	e.svc.broadcasted.Init()
	if err := e.svc.Disconnect(ctx, "nobody", ""); err == nil {
		t.Fatal("a change of rights that the hung instance did not answer succeeded")
	}
	if tr := e.svc.broadcasted.WaitOrTimeout(t); !slices.Equal(tr.asked, []string{ghost}) || len(tr.unwaited) > 0 {
		t.Fatalf("first change: %+v, want the hung instance waited for", tr)
	}
	if err := e.svc.Disconnect(ctx, "nobody", ""); err != nil {
		t.Fatalf("second change: %v", err)
	}
	if tr := e.svc.broadcasted.WaitOrTimeout(t); !slices.Equal(tr.unwaited, []string{ghost}) {
		t.Fatalf("second change: %+v, want the hung instance asked without waiting", tr)
	}

	// It recovers: it answers a change that did not wait for it, and the
	// next ones wait for it again.
	if err := hung.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	sub, err := e.bus.Conn().Subscribe(subjectClose+"."+ghost, func(m *nats.Msg) { _ = m.Respond([]byte(ghost)) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := e.bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, wait, func() error {
		err := e.svc.Disconnect(ctx, "nobody", "")
		if tr := e.svc.broadcasted.WaitOrTimeout(t); err != nil || !slices.Equal(tr.answered, []string{ghost}) {
			return fmt.Errorf("after the instance answered: %+v, %v; want it waited for and answering", tr, err)
		}
		return nil
	})
}

// TestEarlierVersionsHearRightsChanges: during a rolling upgrade, an
// instance of an earlier version (it listens on the bare subjects and
// broadcasts there) and this version hear each other's changes of rights.
func TestEarlierVersionsHearRightsChanges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	const old = "earlier-version"
	if err := e.q.InstanceHeartbeat(ctx, old); err != nil {
		t.Fatal(err)
	}
	heard, err := e.bus.Conn().SubscribeSync(subjectClose)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	e.svc.broadcasted.Init()
	if err := e.svc.Disconnect(ctx, "alice", "jti-1"); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	if tr := e.svc.broadcasted.WaitOrTimeout(t); !slices.Equal(tr.gone, []string{old}) {
		t.Fatalf("%+v, want the earlier version's instance found not listening on its own subject", tr)
	}
	m, err := heard.NextMsg(wait)
	if err != nil {
		t.Fatalf("the earlier version's subject got nothing: %v", err)
	}
	if got, want := string(m.Data), `{"a":"alice","j":"jti-1"}`; got != want {
		t.Errorf("earlier version got %s, want %s", got, want)
	}

	// An earlier version's broadcast on the bare subject is applied and
	// answered here.
	r, err := e.bus.Conn().Request(subjectClose, []byte(`{"a":"bob"}`), wait)
	if err != nil {
		t.Fatalf("this version did not answer an earlier version's broadcast: %v", err)
	}
	if string(r.Data) != e.svc.instanceID {
		t.Errorf("answered by %q, want %q", r.Data, e.svc.instanceID)
	}
}
