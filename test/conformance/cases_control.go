// Flow control, keepalive and close cases (§6, §7).
package main

import (
	"fmt"
	"os"
	"time"
)

// caseFlowWindow announces a 16 KiB window and holds delivery: the server must stop at it, and
// continue once MAX_DATA re-opens it.
func caseFlowWindow(ctx caseContext) (string, error) {
	const window = 16 << 10
	c, _, err := connect(ctx, options{initialMaxData: window, holdDelivery: true})
	if err != nil {
		return "", err
	}
	defer c.close()
	const n = 40
	for i := 0; i < n; i++ {
		c.send(50, modeReliableOrdered, numbered(c.rng, uint32(i), 1000))
	}
	c.runUntil(800*time.Millisecond, func() bool { return len(c.violations) > 0 })
	stalledAt := c.reliableReceived
	if err := checkViolations(c); err != nil {
		return "", err
	}
	if stalledAt == 0 {
		return "", fmt.Errorf("the server sent nothing within our %d-byte window", window)
	}
	c.release()
	if !c.runUntil(5*time.Second, func() bool { return len(c.deliveredOn(50)) == n }) {
		return "", fmt.Errorf("after MAX_DATA %d: %d of %d echoes", c.localMaxData, len(c.deliveredOn(50)), n)
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("window %d: the server stopped at %d reliable bytes while we held delivery, then sent all %d KB after our MAX_DATA (last %d)", window, stalledAt, n, c.localMaxData), nil
}

// caseFlowMaxData sends more than the server's initialMaxData: the client may not pass the
// announced window, so the transfer completes only if the server sends MAX_DATA.
func caseFlowMaxData(ctx caseContext) (string, error) {
	c, res, err := connect(ctx, options{initialMaxData: 64 << 20})
	if err != nil {
		return "", err
	}
	defer c.close()
	total := res.serverInitialMax + res.serverInitialMax/4
	const size = 32 << 10
	n := int((total + size - 1) / size)
	for i := 0; i < n; i++ {
		c.send(51, modeReliableUnordered, numbered(c.rng, uint32(i), size))
	}
	if !c.runUntil(12*time.Second, func() bool { return len(c.deliveredOn(51)) == n }) {
		return "", fmt.Errorf("%d of %d echoes of %d KiB; sent %d reliable bytes against the server's MAX_DATA %d (MAX_DATA frames received: %d)", len(c.deliveredOn(51)), n, size>>10, c.reliableSent, c.peerMaxData, len(c.maxDataReceived))
	}
	if len(c.maxDataReceived) == 0 {
		return "", fmt.Errorf("no MAX_DATA from the server though we sent %d bytes against its initial %d", c.reliableSent, res.serverInitialMax)
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("sent %d reliable bytes against an initial window of %d: %d MAX_DATA frames (last %d), never past it", c.reliableSent, res.serverInitialMax, len(c.maxDataReceived), c.peerMaxData), nil
}

// caseKeepalive sends PING-only packets after idle pauses; each must be acknowledged.
func caseKeepalive(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.runUntil(time.Second, func() bool { return c.largestAcked >= 0 })
	var worst time.Duration
	for i := 0; i < 3; i++ {
		c.runUntil(100*time.Millisecond, func() bool { return false })
		pn := c.nextPN
		started := time.Now()
		c.pingPending = true
		acked := func() bool {
			for _, a := range c.acksReceived {
				if a.covers(pn) {
					return true
				}
			}
			return false
		}
		if !c.runUntil(time.Second, acked) {
			return "", fmt.Errorf("PING in packet %d not acknowledged within 1 s", pn)
		}
		if d := time.Since(started); d > worst {
			worst = d
		}
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("3 PINGs after 100 ms idle each acknowledged, slowest in %v", worst.Round(time.Microsecond)), nil
}

// caseCloseClient closes gracefully: CLOSE(graceful) after everything was acknowledged; the
// server ends the connection (its /stats count it) and no longer acknowledges packets.
func caseCloseClient(ctx caseContext) (string, error) {
	before, err := stats(ctx.metrics, "connections", "closedByReason", "graceful")
	if err != nil {
		return "", fmt.Errorf("/stats: %w", err)
	}
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.send(0, modeReliableOrdered, []byte("last words"))
	if !c.runUntil(2*time.Second, func() bool { return len(c.delivered) == 1 && len(c.inFlight) == 0 }) {
		return "", fmt.Errorf("echo not received or not acknowledged")
	}
	c.closePending = &closeFrame{reason: reasonGraceful}
	c.flush()
	var after float64
	deadline := time.Now().Add(2 * time.Second)
	for after <= before && time.Now().Before(deadline) {
		c.runUntil(50*time.Millisecond, func() bool { return false })
		if after, err = stats(ctx.metrics, "connections", "closedByReason", "graceful"); err != nil {
			return "", err
		}
	}
	if after <= before {
		return "", fmt.Errorf("the server's /stats connections.closedByReason.graceful stayed %v after our CLOSE(graceful)", before)
	}
	acksBefore := len(c.acksReceived)
	pn := c.sendPacket([]byte{framePing}, false)
	c.runUntil(300*time.Millisecond, func() bool { return false })
	for _, a := range c.acksReceived[acksBefore:] {
		if a.covers(pn) {
			return "", fmt.Errorf("a PING after our CLOSE was acknowledged: the connection lives on")
		}
	}
	return fmt.Sprintf("closedByReason.graceful %v -> %v; a later PING got no ACK (%d long packets, CLOSE seen: %v)", before, after, len(c.longPackets), c.closeReceived != nil), nil
}

// caseCloseServer connects, prints READY, and expects CLOSE(server-shutdown) when the test
// stops the server with SIGTERM.
func caseCloseServer(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.send(0, modeReliableOrdered, []byte("before shutdown"))
	if !c.runUntil(2*time.Second, func() bool { return len(c.delivered) == 1 }) {
		return "", fmt.Errorf("no echo before the shutdown")
	}
	fmt.Println("READY")
	os.Stdout.Sync()
	if !c.runUntil(6*time.Second, func() bool { return c.closeReceived != nil }) {
		return "", fmt.Errorf("no CLOSE within 6 s of READY (the test sends SIGTERM to the server)")
	}
	if c.closeReceived.reason != reasonServerShutdown {
		return "", fmt.Errorf("CLOSE reason %d, want 5 (server-shutdown)", c.closeReceived.reason)
	}
	return fmt.Sprintf("CLOSE reason server-shutdown, message %q", c.closeReceived.message), nil
}
