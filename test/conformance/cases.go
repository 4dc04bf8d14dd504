// The cases: each opens its own connection(s) and judges the server by the spec's words.
package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

var cases = map[string]caseFunc{
	"handshake":                 caseHandshake,
	"echo":                      caseEcho,
	"mode-reliable-ordered":     caseMode(modeReliableOrdered),
	"mode-reliable-unordered":   caseMode(modeReliableUnordered),
	"mode-unreliable":           caseMode(modeUnreliable),
	"mode-unreliable-sequenced": caseMode(modeUnreliableSequenced),
	"mixed-modes":               caseMixedModes,
	"fragmentation":             caseFragmentation,
	"loss":                      caseLoss,
	"flow-control-window":       caseFlowWindow,
	"flow-control-max-data":     caseFlowMaxData,
	"keepalive":                 caseKeepalive,
	"close-client":              caseCloseClient,
	"close-server":              caseCloseServer,
	"bad-checksum":              caseBadChecksum,
	"unknown-version":           caseUnknownVersion,
	"forged-cookie":             caseForgedCookie,
	"ack-unsent":                caseAckUnsent,
	"amplification":             caseAmplification,
	"initial-size":              caseInitialSize,
	"vectors":                   caseVectors,
	"server-full":               caseServerFull,
	"handshake-repeat":          caseHandshakeRepeat,
	"duplicate-packet":          caseDuplicatePacket,
	"unknown-frame":             caseUnknownFrame,
	"short-datagram":            caseShortDatagram,
}

// connect opens a connection and completes the handshake, failing on any recorded violation.
func connect(ctx caseContext, opts options) (*client, handshakeResult, error) {
	if opts.seed == 0 {
		opts.seed = ctx.seed
	}
	c, err := newClient(ctx.server, opts)
	if err != nil {
		return nil, handshakeResult{}, err
	}
	res, err := c.handshake(5 * time.Second)
	if err != nil {
		c.close()
		return nil, res, fmt.Errorf("handshake: %w", err)
	}
	return c, res, nil
}

func checkViolations(c *client) error {
	if len(c.violations) == 0 {
		return nil
	}
	return fmt.Errorf("server violated the spec: %s", strings.Join(c.violations, "; "))
}

func caseHandshake(ctx caseContext) (string, error) {
	c, res, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	if res.retries != 1 {
		return "", fmt.Errorf("%d RETRYs before HANDSHAKE, want 1", res.retries)
	}
	if len(res.cookie) != 24 {
		return "", fmt.Errorf("cookie of %d bytes, the spec says 24", len(res.cookie))
	}
	if res.serverInitialMax == 0 {
		return "", fmt.Errorf("HANDSHAKE initialMaxData 0")
	}
	// The first DATA packet carried a PING: the server must acknowledge packet 0.
	if !c.runUntil(2*time.Second, func() bool { return c.largestAcked >= 0 }) {
		return "", fmt.Errorf("the first DATA packet (PING) was never acknowledged")
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("RETRY %d bytes with a 24-byte cookie, HANDSHAKE from server ID %x with initialMaxData %d and maxAckDelayUs %d, PING acknowledged", res.retryBytes, c.serverID, res.serverInitialMax, res.serverMaxAckDelayUs), nil
}

func caseEcho(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	payload := []byte("hello from the conformance client")
	c.send(0, modeReliableOrdered, payload)
	if !c.runUntil(2*time.Second, func() bool { return len(c.delivered) >= 1 }) {
		return "", fmt.Errorf("no echo within 2 s")
	}
	got := c.delivered[0]
	if !bytes.Equal(got.payload, payload) || got.channel != 0 {
		return "", fmt.Errorf("echo on channel %d was %q", got.channel, got.payload)
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("echo came back on channel 0, mode %d, messageId %d", got.mode, got.id), nil
}
