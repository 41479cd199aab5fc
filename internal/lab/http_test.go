package lab

import (
	"os"
	"testing"
	"time"
)

// TestTrafficgenOption: with Options.Trafficgen the lab runs the given
// command (here a trafficgen built by the test, as vmdump's `demo-traffic`
// would be) and builds nothing itself; StartHTTP's client gets answers
// from the server across the bridge.
func TestTrafficgenOption(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a lab")
	}
	dir, bin, err := buildTrafficgen()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l := Start(t, Options{Trafficgen: []string{bin}})

	if sum := l.Send(t, 3, 0); sum.Sent != 3 || sum.Echoed != 3 {
		t.Fatalf("echo traffic through Options.Trafficgen: %+v", sum)
	}
	if got := l.generatorPath(); got != "" {
		t.Fatalf("the lab built its own trafficgen %s although Options.Trafficgen was given", got)
	}

	stop, err := l.StartHTTP(10 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Let the client make some requests (it sends its first at once); the
	// summary, not the time, is checked.
	time.Sleep(time.Second)
	sum, err := stop()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent == 0 || sum.Echoed < sum.Sent-1 {
		t.Fatalf("HTTP traffic summary %+v: want requests, all but at most the last answered", sum)
	}
	if _, err := l.StartHTTP(0); err == nil {
		t.Fatal("StartHTTP(0) did not fail")
	}
}
