// A minimal connection engine over one UDP socket: handshake (§3), DATA packets with ACKs and
// retransmission (§4, §5), flow control (§6), reassembly and per-mode delivery. It also records
// what the server did, so the cases can judge the server against the spec.
package main

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sort"
	"time"
)

// fragmentPayloadMax keeps header + ACK + frame header + payload + CRC under mtuBytes.
const fragmentPayloadMax = 1100
const maxPacketsInFlight = 64

type options struct {
	initialMaxData uint64
	recvLoss       float64 // share of DATA datagrams dropped on receipt (after the handshake)
	sendLoss       float64 // share of DATA datagrams not sent
	seed           int64
	holdDelivery   bool // the "application" does not consume: no MAX_DATA goes out
}

type sentPacket struct {
	pn        uint64
	at        time.Time
	eliciting bool
	frags     []*outFrag
	maxData   bool // carried MAX_DATA: sent again if lost
}

type outFrag struct {
	msg      messageFrame
	acked    bool
	reliable bool
	counted  bool // its bytes were charged against the peer's MAX_DATA
}

type delivery struct {
	mode    byte
	channel byte
	id      uint64
	payload []byte
}

type reassembly struct {
	frags    map[uint64][]byte
	count    uint64
	total    uint64
	received uint64
}

type client struct {
	sock *net.UDPConn
	opts options
	rng  *rand.Rand // connection IDs, payloads
	loss *rand.Rand // the seeded loss, separate so it does not depend on other draws

	id, serverID [8]byte
	connected    bool
	start        time.Time

	// Observations of the wire.
	datagramsSent, datagramsReceived  int
	bytesSent, bytesReceived          int
	droppedByLossIn, droppedByLossOut int
	neverOnWire                       map[uint64]bool // packet numbers the send loss dropped
	longPackets                       []longPacket
	closeReceived                     *closeFrame
	maxDataReceived                   []uint64
	pingsReceived                     int
	acksReceived                      []ackFrame
	duplicatesReceived                int
	violations                        []string

	// Sending.
	nextPN          uint64
	inFlight        map[uint64]*sentPacket
	largestAcked    int64
	queue           []*outFrag
	nextMessageID   map[int]uint64 // per (channel, mode), §4
	peerMaxData     uint64
	reliableSent    uint64
	srtt            time.Duration
	peerMaxAckDelay time.Duration // the server's maxAckDelayUs (§3), added to the PTO
	ptoCount        int
	pingPending     bool
	closePending    *closeFrame

	// Receiving.
	largestRecv      int64
	recvRanges       []ackRange // descending
	ackEliciting     int
	ackNow           bool
	ackDeadline      time.Time
	localMaxData     uint64
	consumed         uint64
	reliableReceived uint64
	fragmentsSeen    map[string]bool
	reasm            map[string]*reassembly
	done             map[string]bool // reliable messages already delivered
	nextOrdered      map[byte]uint64
	orderedHeld      map[byte]map[uint64]delivery
	lastSequenced    map[byte]int64
	held             []delivery // deliveries while holdDelivery
	delivered        []delivery
}

func newClient(server string, opts options) (*client, error) {
	addr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, err
	}
	sock, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		return nil, err
	}
	_ = sock.SetReadBuffer(4 << 20)
	if opts.initialMaxData == 0 {
		opts.initialMaxData = 4 << 20
	}
	c := &client{
		sock: sock, opts: opts,
		rng:      rand.New(rand.NewSource(opts.seed)),
		loss:     rand.New(rand.NewSource(opts.seed ^ 0x5eed)),
		inFlight: map[uint64]*sentPacket{}, largestAcked: -1, largestRecv: -1,
		nextMessageID: map[int]uint64{}, localMaxData: opts.initialMaxData,
		fragmentsSeen: map[string]bool{}, reasm: map[string]*reassembly{}, done: map[string]bool{},
		nextOrdered: map[byte]uint64{}, orderedHeld: map[byte]map[uint64]delivery{}, lastSequenced: map[byte]int64{},
		srtt: 5 * time.Millisecond, start: time.Now(),
	}
	for c.id == ([8]byte{}) {
		c.rng.Read(c.id[:])
	}
	return c, nil
}

func (c *client) close() { c.sock.Close() }

func (c *client) violation(format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
}

// writeRaw sends one datagram as is (no loss applied).
func (c *client) writeRaw(d []byte) {
	c.datagramsSent++
	c.bytesSent += len(d)
	_, _ = c.sock.Write(d)
}

// read waits until `until` for one datagram; nil on timeout.
func (c *client) read(until time.Time) []byte {
	_ = c.sock.SetReadDeadline(until)
	buf := make([]byte, 65536)
	n, err := c.sock.Read(buf)
	if err != nil {
		return nil
	}
	c.datagramsReceived++
	c.bytesReceived += n
	if n > mtuBytes {
		c.violation("a %d-byte datagram from the server, over mtuBytes %d (§1; the test server runs with the default)", n, mtuBytes)
	}
	return buf[:n]
}

// ---- handshake (§3) ----

type handshakeResult struct {
	retries             int
	cookie              []byte
	retryBytes          int
	unvalidatedSent     int
	unvalidatedRecv     int
	serverInitialMax    uint64
	serverMaxAckDelayUs uint64
	handshakeDatagram   int
}

// handshake runs INITIAL -> RETRY -> INITIAL(cookie) -> HANDSHAKE, retransmitting INITIAL
// after 250 ms, 500 ms, then every 1 s (restarting on RETRY), within `timeout`.
func (c *client) handshake(timeout time.Duration) (handshakeResult, error) {
	var res handshakeResult
	deadline := time.Now().Add(timeout)
	var token []byte
	attempt := 0
	send := func() {
		d := buildInitial(protocolVersion, c.id, c.opts.initialMaxData, token, initialBytes)
		if token == nil {
			res.unvalidatedSent += len(d)
		}
		c.writeRaw(d)
	}
	send()
	next := time.Now().Add(initialBackoff(attempt))
	for time.Now().Before(deadline) {
		until := next
		if deadline.Before(until) {
			until = deadline
		}
		d := c.read(until)
		if d == nil {
			attempt++
			send()
			next = time.Now().Add(initialBackoff(attempt))
			continue
		}
		body, err := openDatagram(d)
		if err != nil {
			c.violation("server sent a datagram failing its %v check during the handshake", err)
			continue
		}
		p, err := parseLong(body)
		if err != nil {
			continue
		}
		c.longPackets = append(c.longPackets, p)
		if token == nil {
			res.unvalidatedRecv += len(d)
		}
		if p.dst != c.id {
			c.violation("long packet type %d to destination %x, not our ID %x", p.typ, p.dst, c.id)
			continue
		}
		switch p.typ {
		case typeRetry:
			r := reader{b: p.body}
			cookie := r.take(int(r.varint()))
			if r.err != nil || len(r.b) != 0 {
				return res, fmt.Errorf("RETRY body malformed: %x", p.body)
			}
			if p.version != protocolVersion || p.src != ([8]byte{}) {
				c.violation("RETRY version %d source %x (spec: version 1, source 0)", p.version, p.src)
			}
			res.retries++
			if res.retries > 3 {
				return res, errors.New("more than 3 RETRYs (a client accepts at most 3)")
			}
			res.retryBytes = len(d)
			token = append([]byte(nil), cookie...)
			res.cookie = token
			attempt = 0
			send()
			next = time.Now().Add(initialBackoff(attempt))
		case typeHandshake:
			if token == nil {
				c.violation("HANDSHAKE before any RETRY: the address was not validated by a cookie")
			}
			r := reader{b: p.body}
			res.serverInitialMax = r.varint()
			serverMaxAckDelayUs := r.varint()
			if r.err != nil {
				return res, fmt.Errorf("HANDSHAKE body malformed: %x", p.body)
			}
			if serverMaxAckDelayUs > 16_384_000 {
				return res, fmt.Errorf("HANDSHAKE maxAckDelayUs %d above 2^14 ms (§3)", serverMaxAckDelayUs)
			}
			if p.src == ([8]byte{}) {
				return res, errors.New("HANDSHAKE carries server ID 0 (0 is never chosen)")
			}
			c.serverID = p.src
			c.peerMaxAckDelay = time.Duration(serverMaxAckDelayUs) * time.Microsecond
			res.serverMaxAckDelayUs = serverMaxAckDelayUs
			c.peerMaxData = res.serverInitialMax
			c.connected = true
			res.handshakeDatagram = len(d)
			c.pingPending = true // the client's first DATA packet carries a PING
			c.flush()
			return res, nil
		case typeVersionNegotiation:
			return res, errors.New("VERSION_NEGOTIATION in answer to a version-1 INITIAL")
		case typeReject:
			return res, fmt.Errorf("REJECT reason %x", p.body)
		}
	}
	return res, errors.New("no HANDSHAKE before the timeout")
}

func initialBackoff(attempt int) time.Duration {
	switch attempt {
	case 0:
		return 250 * time.Millisecond
	case 1:
		return 500 * time.Millisecond
	}
	return time.Second
}

// ---- sending ----

// send queues one message, fragmenting it when it does not fit one packet.
func (c *client) send(channel, mode byte, payload []byte) uint64 {
	key := int(channel)<<2 | int(mode)
	id := c.nextMessageID[key]
	c.nextMessageID[key]++
	reliable := mode == modeReliableOrdered || mode == modeReliableUnordered
	total := uint64(len(payload))
	if total <= fragmentPayloadMax {
		c.queue = append(c.queue, &outFrag{msg: messageFrame{mode: mode, channel: channel, id: id, payload: payload}, reliable: reliable})
		return id
	}
	count := (total + fragmentPayloadMax - 1) / fragmentPayloadMax
	for size := (total + count - 1) / count; size*(count-1) >= total; size = (total + count - 1) / count {
		count++ // never an empty last fragment
	}
	offset := uint64(0)
	for i, size := range fragmentSizes(total, count) {
		m := messageFrame{mode: mode, fragmented: true, channel: channel, id: id, index: uint64(i), count: count, total: total, payload: payload[offset : offset+size]}
		offset += size
		c.queue = append(c.queue, &outFrag{msg: m, reliable: reliable})
	}
	return id
}

func (c *client) ackDue(now time.Time) bool {
	return c.ackNow || (c.ackEliciting > 0 && !now.Before(c.ackDeadline))
}

// flush sends what is queued: messages within the congestion cap and the peer's MAX_DATA,
// PING, CLOSE, and an ACK when one is due.
func (c *client) flush() {
	if !c.connected {
		return
	}
	for {
		now := time.Now()
		b := appendShortHeader(nil, c.serverID, c.nextPN)
		withAck := c.ackDue(now) && len(c.recvRanges) > 0
		if withAck {
			b = appendAck(b, c.recvRanges, 0)
		}
		var frags []*outFrag
		eliciting := false
		if c.pingPending {
			b = append(b, framePing)
			c.pingPending = false
			eliciting = true
		}
		for len(c.queue) > 0 && len(c.inFlight) < maxPacketsInFlight {
			f := c.queue[0]
			if f.acked {
				c.queue = c.queue[1:]
				continue
			}
			if f.reliable && !f.counted && c.reliableSent+uint64(len(f.msg.payload)) > c.peerMaxData {
				break // flow control: wait for MAX_DATA
			}
			next := appendMessage(b, f.msg)
			if len(next) > mtuBytes-trailerLen {
				break
			}
			b = next
			if f.reliable && !f.counted {
				f.counted = true
				c.reliableSent += uint64(len(f.msg.payload))
			}
			frags = append(frags, f)
			eliciting = true
			c.queue = c.queue[1:]
		}
		if len(c.queue) == 0 && c.closePending != nil && len(c.inFlight) == 0 {
			b = appendClose(b, *c.closePending)
			c.closePending = nil
			eliciting = true
		}
		if !eliciting && !withAck {
			return
		}
		c.transmit(b, eliciting, frags)
		if withAck {
			c.ackNow, c.ackEliciting = false, 0
		}
		if !eliciting {
			return
		}
	}
}

// transmit seals and sends one DATA packet, applying the seeded send loss.
func (c *client) transmit(b []byte, eliciting bool, frags []*outFrag) {
	pn := c.nextPN
	c.nextPN++
	if c.reliableSent > c.peerMaxData {
		c.violation("client bug: sent reliable payload to byte %d past the server's MAX_DATA %d", c.reliableSent, c.peerMaxData)
	}
	if eliciting {
		c.inFlight[pn] = &sentPacket{pn: pn, at: time.Now(), eliciting: true, frags: frags}
	}
	d := seal(b)
	if c.opts.sendLoss > 0 && c.loss.Float64() < c.opts.sendLoss {
		c.droppedByLossOut++
		if c.neverOnWire == nil {
			c.neverOnWire = map[uint64]bool{}
		}
		c.neverOnWire[pn] = true
		return
	}
	c.writeRaw(d)
}

// sendMessageAs sends one unfragmented message with the given ID in a packet of its own, now,
// tracked for retransmission like any other (the mode cases reorder IDs with it).
func (c *client) sendMessageAs(channel, mode byte, id uint64, payload []byte) {
	reliable := mode == modeReliableOrdered || mode == modeReliableUnordered
	f := &outFrag{msg: messageFrame{mode: mode, channel: channel, id: id, payload: payload}, reliable: reliable, counted: reliable}
	if reliable {
		c.reliableSent += uint64(len(payload))
	}
	if key := int(channel)<<2 | int(mode); c.nextMessageID[key] <= id {
		c.nextMessageID[key] = id + 1
	}
	c.transmit(appendMessage(appendShortHeader(nil, c.serverID, c.nextPN), f.msg), true, []*outFrag{f})
}

// sendPacket sends a DATA packet built from raw frame bytes (for the negative cases).
func (c *client) sendPacket(frameBytes []byte, corrupt bool) uint64 {
	pn := c.nextPN
	c.nextPN++
	d := seal(append(appendShortHeader(nil, c.serverID, pn), frameBytes...))
	if corrupt {
		d[len(d)-1] ^= 0xff
	}
	c.writeRaw(d)
	return pn
}

func (c *client) pto() time.Duration {
	p := 3*c.srtt + 10*time.Millisecond + c.peerMaxAckDelay
	for i := 0; i < c.ptoCount && p < time.Second; i++ {
		p *= 2
	}
	return p
}

// nextTimer is the earliest of the ACK deadline and the retransmission timeout.
func (c *client) nextTimer() time.Time {
	t := time.Now().Add(time.Second)
	if c.ackEliciting > 0 && c.ackDeadline.Before(t) {
		t = c.ackDeadline
	}
	for _, p := range c.inFlight {
		if at := p.at.Add(c.pto()); at.Before(t) {
			t = at
		}
	}
	return t
}

// onTimeout retransmits the reliable fragments of packets older than one PTO.
func (c *client) onTimeout() {
	now := time.Now()
	expired := false
	for pn, p := range c.inFlight {
		if now.Sub(p.at) >= c.pto() {
			c.declareLost(pn, p)
			expired = true
		}
	}
	if expired {
		c.ptoCount++
		if len(c.queue) == 0 {
			c.pingPending = true
		}
	}
}

func (c *client) declareLost(pn uint64, p *sentPacket) {
	delete(c.inFlight, pn)
	var again []*outFrag
	for _, f := range p.frags {
		if f.reliable && !f.acked {
			again = append(again, f)
		}
	}
	c.queue = append(again, c.queue...)
	if p.maxData {
		c.pushFrames(appendMaxData(nil, c.localMaxData))
	}
}

// ---- receiving ----

// step reads for at most until `until` (or the next timer) and processes what came.
func (c *client) step(until time.Time) {
	c.flush()
	if t := c.nextTimer(); t.Before(until) {
		until = t
	}
	d := c.read(until)
	if d == nil {
		c.onTimeout()
		return
	}
	c.receive(d)
}

// runUntil steps until cond holds or the deadline passes.
func (c *client) runUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if !time.Now().Before(deadline) {
			return false
		}
		c.step(deadline)
	}
	c.flush()
	return true
}

func (c *client) receive(d []byte) {
	body, err := openDatagram(d)
	if err != nil {
		c.violation("server sent a datagram failing its %v check", err)
		return
	}
	if body[0] != typeData {
		if p, err := parseLong(body); err == nil {
			c.longPackets = append(c.longPackets, p)
		}
		return
	}
	if c.opts.recvLoss > 0 && c.loss.Float64() < c.opts.recvLoss {
		c.droppedByLossIn++
		return
	}
	r := reader{b: body[1:]}
	dst := r.id()
	truncated := r.u32()
	if r.err != nil || dst != c.id {
		c.violation("DATA to %x, not our ID", dst)
		return
	}
	pn := decodePacketNumber(c.largestRecv, truncated)
	if c.received(pn) {
		c.duplicatesReceived++
		c.ackNow = true
		return
	}
	f, err := parseFrames(r.b)
	if err != nil {
		c.violation("server DATA packet %d: %v frames", pn, err)
		return
	}
	c.recordReceived(pn, f.ackEliciting())
	for _, a := range f.acks {
		c.onAck(a)
	}
	for _, m := range f.maxData {
		c.maxDataReceived = append(c.maxDataReceived, m)
		if m > c.peerMaxData {
			c.peerMaxData = m
		}
	}
	if f.ping {
		c.pingsReceived++
	}
	for _, m := range f.messages {
		c.onMessage(m)
	}
	if len(f.closes) > 0 && c.closeReceived == nil {
		cl := f.closes[0]
		c.closeReceived = &cl
	}
}

func (c *client) received(pn uint64) bool {
	for _, r := range c.recvRanges {
		if pn >= r.lo && pn <= r.hi {
			return true
		}
	}
	return false
}

// recordReceived adds pn to the ranges (at most 64 kept) and schedules the ACK per §5.
func (c *client) recordReceived(pn uint64, eliciting bool) {
	inOrder := int64(pn) == c.largestRecv+1
	if int64(pn) > c.largestRecv {
		c.largestRecv = int64(pn)
	}
	c.recvRanges = append(c.recvRanges, ackRange{pn, pn})
	sort.Slice(c.recvRanges, func(i, j int) bool { return c.recvRanges[i].hi > c.recvRanges[j].hi })
	merged := c.recvRanges[:1]
	for _, r := range c.recvRanges[1:] {
		last := &merged[len(merged)-1]
		if r.hi+1 >= last.lo {
			if r.lo < last.lo {
				last.lo = r.lo
			}
			continue
		}
		merged = append(merged, r)
	}
	if len(merged) > 64 {
		merged = merged[:64]
	}
	c.recvRanges = merged
	if !eliciting {
		return
	}
	c.ackEliciting++
	if c.ackEliciting == 1 {
		c.ackDeadline = time.Now().Add(time.Millisecond)
	}
	if c.ackEliciting >= 2 || !inOrder {
		c.ackNow = true
	}
}

func (c *client) onAck(a ackFrame) {
	c.acksReceived = append(c.acksReceived, a)
	if a.largest >= c.nextPN {
		c.violation("ACK of packet %d, never sent (next is %d)", a.largest, c.nextPN)
	}
	for pn := range c.neverOnWire {
		if a.covers(pn) {
			c.violation("ACK covers packet %d, which the client's send loss never put on the wire", pn)
			delete(c.neverOnWire, pn)
		}
	}
	newlyAcked := false
	for pn, p := range c.inFlight {
		if !a.covers(pn) {
			continue
		}
		for _, f := range p.frags {
			f.acked = true
		}
		if pn == a.largest {
			sample := time.Since(p.at) - time.Duration(a.delayUs)*time.Microsecond
			if sample > 0 {
				c.srtt = (7*c.srtt + sample) / 8
			}
		}
		delete(c.inFlight, pn)
		newlyAcked = true
	}
	if int64(a.largest) > c.largestAcked {
		c.largestAcked = int64(a.largest)
	}
	if newlyAcked {
		c.ptoCount = 0
	}
	for pn, p := range c.inFlight { // packet threshold 3
		if int64(pn)+3 <= c.largestAcked {
			c.declareLost(pn, p)
		}
	}
}

func messageKey(m messageFrame) string { return fmt.Sprintf("%d/%d/%d", m.channel, m.mode, m.id) }

// onMessage reassembles, then delivers per mode: reliable-ordered in messageId order per
// channel, reliable-unordered at once, unreliable at once, unreliable-sequenced only if newer.
func (c *client) onMessage(m messageFrame) {
	reliable := m.mode == modeReliableOrdered || m.mode == modeReliableUnordered
	key := messageKey(m)
	if reliable {
		fk := fmt.Sprintf("%s/%d", key, m.index)
		if !c.fragmentsSeen[fk] {
			c.fragmentsSeen[fk] = true
			c.reliableReceived += uint64(len(m.payload))
			if c.reliableReceived > c.localMaxData {
				c.violation("server sent reliable payload to byte %d, past our MAX_DATA %d", c.reliableReceived, c.localMaxData)
			}
		}
		if c.done[key] {
			return
		}
	}
	payload := m.payload
	if m.fragmented {
		payload = c.reassemble(key, m)
		if payload == nil {
			return
		}
	}
	if reliable {
		c.done[key] = true
	}
	d := delivery{mode: m.mode, channel: m.channel, id: m.id, payload: append([]byte(nil), payload...)}
	switch m.mode {
	case modeReliableOrdered:
		c.deliverOrdered(d)
	case modeUnreliableSequenced:
		if last, ok := c.lastSequenced[m.channel]; ok && int64(m.id) <= last {
			return
		}
		c.lastSequenced[m.channel] = int64(m.id)
		c.deliver(d)
	default:
		c.deliver(d)
	}
}

func (c *client) reassemble(key string, m messageFrame) []byte {
	a := c.reasm[key]
	if a == nil {
		a = &reassembly{frags: map[uint64][]byte{}, count: m.count, total: m.total}
		c.reasm[key] = a
	}
	sizes := fragmentSizes(m.total, m.count)
	if m.count != a.count || m.total != a.total || m.total < (m.total+m.count-1)/m.count*(m.count-1) || uint64(len(m.payload)) != sizes[m.index] {
		c.violation("fragment %s %d/%d of %d bytes disagrees (%d bytes)", key, m.index, m.count, m.total, len(m.payload))
		return nil
	}
	if _, ok := a.frags[m.index]; ok {
		return nil
	}
	a.frags[m.index] = append([]byte(nil), m.payload...)
	a.received++
	if a.received < a.count {
		return nil
	}
	delete(c.reasm, key)
	out := make([]byte, 0, m.total)
	for i := uint64(0); i < a.count; i++ {
		out = append(out, a.frags[i]...)
	}
	return out
}

func (c *client) deliverOrdered(d delivery) {
	held := c.orderedHeld[d.channel]
	if held == nil {
		held = map[uint64]delivery{}
		c.orderedHeld[d.channel] = held
	}
	held[d.id] = d
	for {
		next, ok := held[c.nextOrdered[d.channel]]
		if !ok {
			return
		}
		delete(held, next.id)
		c.nextOrdered[d.channel]++
		c.deliver(next)
	}
}

// deliver hands a message to the "application"; consuming reliable bytes re-opens the window.
func (c *client) deliver(d delivery) {
	if c.opts.holdDelivery {
		c.held = append(c.held, d)
		return
	}
	c.delivered = append(c.delivered, d)
	if d.mode == modeReliableOrdered || d.mode == modeReliableUnordered {
		c.consume(uint64(len(d.payload)))
	}
}

func (c *client) release() {
	c.opts.holdDelivery = false
	held := c.held
	c.held = nil
	for _, d := range held {
		c.deliver(d)
	}
}

// consume advertises consumed + window once half the window has been used.
func (c *client) consume(n uint64) {
	c.consumed += n
	if c.consumed+c.opts.initialMaxData-c.localMaxData < c.opts.initialMaxData/2 {
		return
	}
	c.localMaxData = c.consumed + c.opts.initialMaxData
	c.pushFrames(appendMaxData(nil, c.localMaxData))
}

// pushFrames sends control frames (MAX_DATA) in their own packet at once (with an ACK).
func (c *client) pushFrames(frameBytes []byte) {
	b := appendShortHeader(nil, c.serverID, c.nextPN)
	if len(c.recvRanges) > 0 {
		b = appendAck(b, c.recvRanges, 0)
		c.ackNow, c.ackEliciting = false, 0
	}
	pn := c.nextPN
	c.transmit(append(b, frameBytes...), true, nil)
	c.inFlight[pn].maxData = true
}
