// Negative cases: bad checksum, unknown version, forged cookies, an ACK of a packet never sent,
// and the amplification bound before address validation (§2, §3, §4).
package main

import (
	"fmt"
	"time"
)

// caseBadChecksum sends a PING with a broken CRC, then a good one: only the good one is acked.
func caseBadChecksum(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.runUntil(time.Second, func() bool { return c.largestAcked >= 0 })
	before, _ := stats(ctx.metrics, "drops", "checksum")
	bad := c.sendPacket([]byte{framePing}, true)
	c.runUntil(100*time.Millisecond, func() bool { return false })
	good := c.sendPacket([]byte{framePing}, false)
	if !c.runUntil(time.Second, func() bool { return c.largestAcked >= int64(good) }) {
		return "", fmt.Errorf("the good PING after the corrupted one was not acknowledged")
	}
	for _, a := range c.acksReceived {
		if a.covers(bad) {
			return "", fmt.Errorf("packet %d with a bad checksum was acknowledged", bad)
		}
	}
	after, _ := stats(ctx.metrics, "drops", "checksum")
	if ctx.metrics != "" && after <= before {
		return "", fmt.Errorf("drops.checksum did not grow (%v -> %v)", before, after)
	}
	return fmt.Sprintf("packet %d (bad CRC) not acknowledged, %d acknowledged; drops.checksum %v -> %v", bad, good, before, after), nil
}

// caseUnknownVersion: an INITIAL of version 0x0a0a0a0a gets VERSION_NEGOTIATION listing 1.
func caseUnknownVersion(ctx caseContext) (string, error) {
	c, err := newClient(ctx.server, options{seed: ctx.seed})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.writeRaw(buildInitial(0x0a0a0a0a, c.id, 4<<20, nil, initialBytes))
	p := c.awaitLong(time.Second, typeVersionNegotiation, typeRetry, typeHandshake)
	if p == nil {
		return "", fmt.Errorf("no VERSION_NEGOTIATION within 1 s")
	}
	if p.typ != typeVersionNegotiation {
		return "", fmt.Errorf("answer of type %d, want VERSION_NEGOTIATION (4)", p.typ)
	}
	r := reader{b: p.body}
	n := int(r.u8())
	var versions []uint32
	for i := 0; i < n; i++ {
		versions = append(versions, r.u32())
	}
	if r.err != nil || p.version != 0 || p.dst != c.id || p.src != ([8]byte{}) {
		return "", fmt.Errorf("VERSION_NEGOTIATION header version %d dst %x src %x body %x", p.version, p.dst, p.src, p.body)
	}
	has1 := false
	for _, v := range versions {
		has1 = has1 || v == protocolVersion
	}
	if !has1 {
		return "", fmt.Errorf("VERSION_NEGOTIATION lists %v, not version 1", versions)
	}
	return fmt.Sprintf("VERSION_NEGOTIATION (%d bytes) lists %v", c.bytesReceived, versions), nil
}

// caseForgedCookie: random tokens, another client's cookie and a cookie with a flipped MAC bit
// get no HANDSHAKE; the genuine cookie then does (so the refusals were about the forgery).
func caseForgedCookie(ctx caseContext) (string, error) {
	c, err := newClient(ctx.server, options{seed: ctx.seed})
	if err != nil {
		return "", err
	}
	defer c.close()
	genuine, err := c.getCookie()
	if err != nil {
		return "", err
	}
	other, err := newClient(ctx.server, options{seed: ctx.seed + 1000})
	if err != nil {
		return "", err
	}
	defer other.close()
	othersCookie, err := other.getCookie()
	if err != nil {
		return "", err
	}
	random := make([]byte, 24)
	c.rng.Read(random)
	flipped := append([]byte(nil), genuine...)
	flipped[len(flipped)-1] ^= 0x01
	forgeries := map[string][]byte{"random 24 bytes": random, "another client ID's cookie": othersCookie, "a flipped MAC bit": flipped, "a 10-byte token": random[:10]}
	for what, token := range forgeries {
		c.writeRaw(buildInitial(protocolVersion, c.id, 4<<20, token, initialBytes))
		if p := c.awaitLong(300*time.Millisecond, typeHandshake); p != nil {
			return "", fmt.Errorf("HANDSHAKE for a forged cookie (%s)", what)
		}
	}
	c.writeRaw(buildInitial(protocolVersion, c.id, 4<<20, genuine, initialBytes))
	if p := c.awaitLong(time.Second, typeHandshake); p == nil {
		return "", fmt.Errorf("the genuine cookie got no HANDSHAKE after the forgeries")
	}
	return fmt.Sprintf("%d forged cookies refused, the genuine one accepted", len(forgeries)), nil
}

// caseAckUnsent acknowledges a packet number the server never sent: CLOSE(protocol-violation).
func caseAckUnsent(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	c.runUntil(time.Second, func() bool { return c.largestAcked >= 0 })
	forged := uint64(c.largestRecv + 1000)
	c.sendPacket(append(appendAck(nil, []ackRange{{forged, forged}}, 0), framePing), false)
	if !c.runUntil(2*time.Second, func() bool { return c.closeReceived != nil }) {
		return "", fmt.Errorf("no CLOSE within 2 s after an ACK of packet %d (the server's largest is %d)", forged, c.largestRecv)
	}
	if c.closeReceived.reason != reasonProtocolViolation {
		return "", fmt.Errorf("CLOSE reason %d, want 4 (protocol-violation)", c.closeReceived.reason)
	}
	return fmt.Sprintf("ACK of never-sent packet %d -> CLOSE protocol-violation %q", forged, c.closeReceived.message), nil
}

// caseAmplification counts every byte the server sends to an unvalidated address against 3x
// what that address sent: tokenless INITIALs, a tiny unknown-version datagram, a short INITIAL.
func caseAmplification(ctx caseContext) (string, error) {
	c, err := newClient(ctx.server, options{seed: ctx.seed})
	if err != nil {
		return "", err
	}
	defer c.close()
	for i := 0; i < 5; i++ {
		sent, received := c.bytesSent, c.bytesReceived
		if _, err := c.getCookie(); err != nil {
			return "", err
		}
		if got := c.bytesReceived - received; got > 3*(c.bytesSent-sent) {
			return "", fmt.Errorf("RETRY of %d bytes for an INITIAL of %d", got, c.bytesSent-sent)
		}
	}
	// A 30-byte datagram claiming an unknown version: any answer must stay within 90 bytes.
	tiny := appendLongHeader(nil, typeInitial, 7, [8]byte{}, c.id)
	tiny = seal(append(tiny, 0, 0, 0, 0, 0))
	received := c.bytesReceived
	c.writeRaw(tiny)
	c.awaitLong(300*time.Millisecond, typeVersionNegotiation)
	if got := c.bytesReceived - received; got > 3*len(tiny) {
		return "", fmt.Errorf("%d bytes answered a %d-byte unknown-version datagram", got, len(tiny))
	}
	tinyAnswer := c.bytesReceived - received
	// A version-1 INITIAL below 1200 bytes is dropped (initial-too-small).
	received = c.bytesReceived
	c.writeRaw(buildInitial(protocolVersion, c.id, 4<<20, nil, 600))
	if p := c.awaitLong(300*time.Millisecond, typeRetry, typeHandshake); p != nil {
		return "", fmt.Errorf("a 600-byte INITIAL was answered (type %d): it must be dropped as initial-too-small", p.typ)
	}
	if c.bytesReceived > 3*c.bytesSent {
		return "", fmt.Errorf("%d bytes back for %d sent before validation", c.bytesReceived, c.bytesSent)
	}
	return fmt.Sprintf("before validation: %d bytes back for %d sent (%.3fx); a %d-byte unknown-version datagram got %d bytes", c.bytesReceived, c.bytesSent, float64(c.bytesReceived)/float64(c.bytesSent), len(tiny), tinyAnswer), nil
}

// caseInitialSize: an INITIAL must be exactly 1200 bytes (shorter: initial-too-small, longer:
// malformed) and its maxAckDelayUs at most 2^14 ms (§1, §3); none of these gets an answer,
// and a correct one then does.
func caseInitialSize(ctx caseContext) (string, error) {
	c, err := newClient(ctx.server, options{seed: ctx.seed})
	if err != nil {
		return "", err
	}
	defer c.close()
	bad := map[string][]byte{
		"600 bytes":                 buildInitial(protocolVersion, c.id, 4<<20, nil, 600),
		"1199 bytes":                buildInitial(protocolVersion, c.id, 4<<20, nil, 1199),
		"1400 bytes":                buildInitial(protocolVersion, c.id, 4<<20, nil, 1400),
		"maxAckDelayUs 2^14 ms + 1": buildInitialWith(protocolVersion, c.id, 4<<20, 16_384_001, nil, initialBytes),
	}
	for what, d := range bad {
		c.writeRaw(d)
		if p := c.awaitLong(300*time.Millisecond, typeRetry, typeHandshake, typeVersionNegotiation, typeReject); p != nil {
			return "", fmt.Errorf("an INITIAL of %s was answered (type %d); the spec drops it", what, p.typ)
		}
	}
	if _, err := c.getCookie(); err != nil {
		return "", fmt.Errorf("after the bad INITIALs, a correct one: %w", err)
	}
	return fmt.Sprintf("INITIALs of 600, 1199 and 1400 bytes and one with maxAckDelayUs over 2^14 ms unanswered; 1200 bytes answered with RETRY"), nil
}
