// More rules of §2-§4 a peer can observe: HANDSHAKE repetition, duplicate packet numbers,
// unknown frame types and datagrams under 5 bytes.
package main

import (
	"fmt"
	"time"
)

// caseHandshakeRepeat: before any DATA, a repeated INITIAL (valid cookie) gets HANDSHAKE again
// at once, and silence gets it again on the server's retransmission schedule (250 ms first).
func caseHandshakeRepeat(ctx caseContext) (string, error) {
	c, err := newClient(ctx.server, options{seed: ctx.seed})
	if err != nil {
		return "", err
	}
	defer c.close()
	cookie, err := c.getCookie()
	if err != nil {
		return "", err
	}
	initial := buildInitial(protocolVersion, c.id, 4<<20, cookie, initialBytes)
	c.writeRaw(initial)
	first := c.awaitLong(time.Second, typeHandshake)
	if first == nil {
		return "", fmt.Errorf("no HANDSHAKE for a valid cookie")
	}
	started := time.Now()
	c.writeRaw(initial)
	again := c.awaitLong(200*time.Millisecond, typeHandshake)
	if again == nil || again.src != first.src {
		return "", fmt.Errorf("a repeated INITIAL got no HANDSHAKE with the same server ID within 200 ms")
	}
	answered := time.Since(started)
	retransmitted := c.awaitLong(1500*time.Millisecond, typeHandshake)
	if retransmitted == nil || retransmitted.src != first.src {
		return "", fmt.Errorf("no HANDSHAKE retransmission within 1.5 s while the client sent no DATA")
	}
	waited := time.Since(started)
	c.serverID, c.connected = first.src, true
	c.peerMaxData = 4 << 20
	c.pingPending = true
	c.flush()
	if !c.runUntil(time.Second, func() bool { return c.largestAcked >= 0 }) {
		return "", fmt.Errorf("the first DATA after the repeated HANDSHAKEs was not acknowledged")
	}
	return fmt.Sprintf("repeated INITIAL answered in %v; HANDSHAKE retransmitted %v after it, same server ID", answered.Round(time.Millisecond), waited.Round(time.Millisecond)), nil
}

// caseDuplicatePacket sends one DATA packet twice: its message is delivered (echoed) once.
func caseDuplicatePacket(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	pn := c.nextPN
	c.nextPN++
	d := seal(appendMessage(appendShortHeader(nil, c.serverID, pn), messageFrame{mode: modeReliableOrdered, channel: 60, payload: numbered(c.rng, 7, 40)}))
	c.nextMessageID[60<<2|modeReliableOrdered] = 1
	c.writeRaw(d)
	c.writeRaw(d)
	if !c.runUntil(time.Second, func() bool { return len(c.deliveredOn(60)) >= 1 }) {
		return "", fmt.Errorf("no echo of the duplicated packet's message")
	}
	c.runUntil(200*time.Millisecond, func() bool { return false })
	if n := len(c.deliveredOn(60)); n != 1 {
		return "", fmt.Errorf("the message of a packet sent twice was echoed %d times", n)
	}
	return fmt.Sprintf("packet %d sent twice: its message echoed once", pn), checkViolations(c)
}

// caseUnknownFrame: a packet with an unknown frame type is dropped whole: not acknowledged, its
// message (before the unknown frame) not delivered.
func caseUnknownFrame(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.runUntil(time.Second, func() bool { return c.largestAcked >= 0 })
	frames := appendMessage(nil, messageFrame{mode: modeUnreliable, channel: 61, payload: []byte("must not arrive")})
	bad := c.sendPacket(append(frames, 0x3f, framePing), false)
	c.runUntil(100*time.Millisecond, func() bool { return false })
	good := c.sendPacket([]byte{framePing}, false)
	if !c.runUntil(time.Second, func() bool { return c.largestAcked >= int64(good) }) {
		return "", fmt.Errorf("the PING after the bad packet was not acknowledged")
	}
	for _, a := range c.acksReceived {
		if a.covers(bad) {
			return "", fmt.Errorf("packet %d with unknown frame type 0x3f was acknowledged", bad)
		}
	}
	if n := len(c.deliveredOn(61)); n != 0 {
		return "", fmt.Errorf("the message in a packet with an unknown frame was delivered (%d echoes)", n)
	}
	return fmt.Sprintf("packet %d (frame 0x3f) dropped whole: not acknowledged, its message not echoed", bad), checkViolations(c)
}

// caseShortDatagram: datagrams of 0..4 bytes are dropped as truncated (§2), and the connection
// on the same address carries on.
func caseShortDatagram(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	before, _ := stats(ctx.metrics, "drops", "truncated")
	for n := 1; n <= 4; n++ {
		c.writeRaw(make([]byte, n))
	}
	c.send(0, modeReliableOrdered, []byte("still here"))
	if !c.runUntil(time.Second, func() bool { return len(c.delivered) == 1 }) {
		return "", fmt.Errorf("no echo after four short datagrams")
	}
	var after float64
	for deadline := time.Now().Add(time.Second); after < before+4 && time.Now().Before(deadline); {
		c.runUntil(50*time.Millisecond, func() bool { return false })
		after, _ = stats(ctx.metrics, "drops", "truncated")
	}
	if ctx.metrics != "" && after < before+4 {
		checksum, _ := stats(ctx.metrics, "drops", "checksum")
		return "", fmt.Errorf("drops.truncated %v -> %v for four datagrams of 1..4 bytes (drops.checksum is %v)", before, after, checksum)
	}
	return fmt.Sprintf("datagrams of 1..4 bytes dropped: drops.truncated %v -> %v; the connection still echoes", before, after), checkViolations(c)
}

// caseServerFull runs against a server started with --max-connections 1: with one connection
// open, a second client is answered with REJECT(server-full) (§3), within the amplification bound.
func caseServerFull(ctx caseContext) (string, error) {
	first, _, err := connect(ctx, options{})
	if err != nil {
		return "", fmt.Errorf("first client: %w", err)
	}
	defer first.close()
	first.runUntil(time.Second, func() bool { return first.largestAcked >= 0 })
	second, err := newClient(ctx.server, options{seed: ctx.seed + 77})
	if err != nil {
		return "", err
	}
	defer second.close()
	second.writeRaw(buildInitial(protocolVersion, second.id, 4<<20, nil, initialBytes))
	p := second.awaitLong(time.Second, typeRetry, typeReject, typeHandshake)
	if p != nil && p.typ == typeRetry {
		r := reader{b: p.body}
		cookie := r.take(int(r.varint()))
		second.writeRaw(buildInitial(protocolVersion, second.id, 4<<20, cookie, initialBytes))
		p = second.awaitLong(time.Second, typeReject, typeHandshake)
	}
	if p == nil {
		return "", fmt.Errorf("the second client got no answer (want REJECT server-full)")
	}
	if p.typ != typeReject {
		return "", fmt.Errorf("the second client got type %d with --max-connections 1, want REJECT (5)", p.typ)
	}
	if len(p.body) != 1 || p.body[0] != 6 || p.dst != second.id || p.version != protocolVersion {
		return "", fmt.Errorf("REJECT version %d dst %x body %x, want version 1, the client's ID, reason 6 (server-full)", p.version, p.dst, p.body)
	}
	if second.bytesReceived > 3*second.bytesSent {
		return "", fmt.Errorf("%d bytes back for %d sent", second.bytesReceived, second.bytesSent)
	}
	return fmt.Sprintf("second client: REJECT server-full after %d datagrams sent; the first connection stays", second.datagramsSent), checkViolations(first)
}
