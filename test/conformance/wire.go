// Wire format of docs/PROTOCOL.md §1, §2 and §4: CRC32C trailer, QUIC varints, long and short
// headers, DATA frames. Written from the spec alone; shares no code with the TypeScript engine.
package main

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

const (
	typeInitial            = 0x01
	typeRetry              = 0x02
	typeHandshake          = 0x03
	typeVersionNegotiation = 0x04
	typeReject             = 0x05
	typeData               = 0x10

	protocolVersion = 1
	initialBytes    = 1200
	mtuBytes        = 1200
	longHeaderLen   = 21
	shortHeaderLen  = 13
	trailerLen      = 4
	maxTokenLen     = 64

	framePadding = 0x00
	framePing    = 0x01
	frameAck     = 0x02
	frameClose   = 0x03
	frameMaxData = 0x04

	modeReliableOrdered     = 0
	modeReliableUnordered   = 1
	modeUnreliable          = 2
	modeUnreliableSequenced = 3

	reasonGraceful          = 0
	reasonProtocolViolation = 4
	reasonServerShutdown    = 5

	maxVarint = 1<<53 - 1
)

var (
	errTruncated = errors.New("truncated")
	errChecksum  = errors.New("checksum")
	errMalformed = errors.New("malformed")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// seal appends the little-endian CRC32C of everything before it.
func seal(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// openDatagram checks the trailer and returns the bytes before it.
func openDatagram(d []byte) ([]byte, error) {
	if len(d) < 5 {
		return nil, errTruncated
	}
	body := d[:len(d)-trailerLen]
	if binary.LittleEndian.Uint32(d[len(d)-trailerLen:]) != crc32.Checksum(body, castagnoli) {
		return nil, errChecksum
	}
	return body, nil
}

func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return binary.BigEndian.AppendUint16(b, uint16(v)|0x4000)
	case v < 1<<30:
		return binary.BigEndian.AppendUint32(b, uint32(v)|0x80000000)
	default:
		return binary.BigEndian.AppendUint64(b, v|0xC000000000000000)
	}
}

// reader consumes a byte slice; the first error sticks and every later read returns zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(e error) {
	if r.err == nil {
		r.err = e
	}
	r.b = nil
}

func (r *reader) take(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail(errTruncated)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() byte {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) id() (id [8]byte) {
	copy(id[:], r.take(8))
	return id
}

func (r *reader) varint() uint64 {
	if len(r.b) == 0 {
		r.fail(errTruncated)
		return 0
	}
	raw := r.take(1 << (r.b[0] >> 6))
	if raw == nil {
		return 0
	}
	v := uint64(raw[0] & 0x3f)
	for _, x := range raw[1:] {
		v = v<<8 | uint64(x)
	}
	if v > maxVarint {
		r.fail(errMalformed)
		return 0
	}
	return v
}

// longPacket is any of INITIAL, RETRY, HANDSHAKE, VERSION_NEGOTIATION, REJECT.
type longPacket struct {
	typ      byte
	version  uint32
	dst, src [8]byte
	body     []byte
}

func appendLongHeader(b []byte, typ byte, version uint32, dst, src [8]byte) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, version)
	b = append(b, dst[:]...)
	return append(b, src[:]...)
}

func parseLong(body []byte) (longPacket, error) {
	r := reader{b: body}
	p := longPacket{typ: r.u8(), version: r.u32(), dst: r.id(), src: r.id()}
	p.body = r.b
	return p, r.err
}

// announcedMaxAckDelayUs is this client's maxAckDelayUs transport parameter (§3).
const announcedMaxAckDelayUs = 2000

// buildInitial returns an INITIAL padded to exactly `size` bytes (1200 per the spec).
func buildInitial(version uint32, clientID [8]byte, initialMaxData uint64, token []byte, size int) []byte {
	return buildInitialWith(version, clientID, initialMaxData, announcedMaxAckDelayUs, token, size)
}

// buildInitialWith also takes the maxAckDelayUs transport parameter (§3).
func buildInitialWith(version uint32, clientID [8]byte, initialMaxData, maxAckDelayUs uint64, token []byte, size int) []byte {
	b := appendLongHeader(nil, typeInitial, version, [8]byte{}, clientID)
	b = appendVarint(b, initialMaxData)
	b = appendVarint(b, maxAckDelayUs) // transport parameter (§3)
	b = appendVarint(b, uint64(len(token)))
	b = append(b, token...)
	for len(b) < size-trailerLen {
		b = append(b, 0)
	}
	return seal(b)
}

type ackRange struct{ lo, hi uint64 }

type ackFrame struct {
	largest, delayUs uint64
	ranges           []ackRange // descending, ranges[0].hi == largest
}

func (a ackFrame) covers(pn uint64) bool {
	for _, r := range a.ranges {
		if pn >= r.lo && pn <= r.hi {
			return true
		}
	}
	return false
}

type closeFrame struct {
	reason  byte
	code    uint64
	message string
}

type messageFrame struct {
	mode                byte
	fragmented          bool
	channel             byte
	id                  uint64
	index, count, total uint64
	payload             []byte
}

// frames is one DATA packet's content, in the order the frames came.
type frames struct {
	ping     bool
	padding  bool
	acks     []ackFrame
	closes   []closeFrame
	maxData  []uint64
	messages []messageFrame
	// reencoded is every frame encoded again as parsed, in order (the vectors case compares it).
	reencoded []byte
}

func (f frames) ackEliciting() bool {
	return f.ping || len(f.closes) > 0 || len(f.maxData) > 0 || len(f.messages) > 0
}

func parseAck(r *reader) ackFrame {
	a := ackFrame{largest: r.varint(), delayUs: r.varint()}
	count := r.varint()
	first := r.varint()
	if r.err != nil || count > 63 || first > a.largest {
		r.fail(errMalformed)
		return a
	}
	a.ranges = append(a.ranges, ackRange{a.largest - first, a.largest})
	for i := uint64(0); i < count; i++ {
		gap, length := r.varint(), r.varint()
		prev := a.ranges[len(a.ranges)-1].lo
		if r.err != nil || gap+2 > prev || length > prev-gap-2 {
			r.fail(errMalformed)
			return a
		}
		hi := prev - gap - 2
		a.ranges = append(a.ranges, ackRange{hi - length, hi})
	}
	return a
}

func parseMessage(r *reader, t byte) messageFrame {
	m := messageFrame{mode: (t >> 1) & 3, fragmented: t&1 == 1, channel: r.u8(), id: r.varint()}
	if m.fragmented {
		m.index, m.count, m.total = r.varint(), r.varint(), r.varint()
		if r.err == nil && (m.count < 2 || m.index >= m.count) {
			r.fail(errMalformed)
		}
	}
	m.payload = r.take(int(r.varint()))
	return m
}

func parseFrames(b []byte) (frames, error) {
	r := reader{b: b}
	var f frames
	for len(r.b) > 0 && r.err == nil {
		t := r.u8()
		switch {
		case t == framePadding:
			f.padding = true
			f.reencoded = append(f.reencoded, framePadding)
		case t == framePing:
			f.ping = true
			f.reencoded = append(f.reencoded, framePing)
		case t == frameAck:
			a := parseAck(&r)
			f.acks = append(f.acks, a)
			if r.err == nil {
				f.reencoded = appendAck(f.reencoded, a.ranges, a.delayUs)
			}
		case t == frameClose:
			c := closeFrame{reason: r.u8(), code: r.varint()}
			n := r.varint()
			if n > 256 {
				r.fail(errMalformed)
			}
			c.message = string(r.take(int(n)))
			f.closes = append(f.closes, c)
			f.reencoded = appendClose(f.reencoded, c)
		case t == frameMaxData:
			m := r.varint()
			f.maxData = append(f.maxData, m)
			f.reencoded = appendMaxData(f.reencoded, m)
		case t >= 0x10 && t <= 0x17:
			m := parseMessage(&r, t)
			f.messages = append(f.messages, m)
			f.reencoded = appendMessage(f.reencoded, m)
		default:
			r.fail(errMalformed)
		}
	}
	return f, r.err
}

// appendAck encodes descending ranges as §4 ACK (first range, then gap/length pairs).
func appendAck(b []byte, ranges []ackRange, delayUs uint64) []byte {
	b = append(b, frameAck)
	b = appendVarint(b, ranges[0].hi)
	b = appendVarint(b, delayUs)
	b = appendVarint(b, uint64(len(ranges)-1))
	b = appendVarint(b, ranges[0].hi-ranges[0].lo)
	prevLo := ranges[0].lo
	for _, r := range ranges[1:] {
		b = appendVarint(b, prevLo-r.hi-2)
		b = appendVarint(b, r.hi-r.lo)
		prevLo = r.lo
	}
	return b
}

func appendClose(b []byte, c closeFrame) []byte {
	b = append(b, frameClose, c.reason)
	b = appendVarint(b, c.code)
	b = appendVarint(b, uint64(len(c.message)))
	return append(b, c.message...)
}

func appendMaxData(b []byte, max uint64) []byte {
	return appendVarint(append(b, frameMaxData), max)
}

func appendMessage(b []byte, m messageFrame) []byte {
	t := byte(0x10) | m.mode<<1
	if m.fragmented {
		t |= 1
	}
	b = append(b, t, m.channel)
	b = appendVarint(b, m.id)
	if m.fragmented {
		b = appendVarint(b, m.index)
		b = appendVarint(b, m.count)
		b = appendVarint(b, m.total)
	}
	b = appendVarint(b, uint64(len(m.payload)))
	return append(b, m.payload...)
}

func appendShortHeader(b []byte, dst [8]byte, pn uint64) []byte {
	b = append(b, typeData)
	b = append(b, dst[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(pn))
}

// decodePacketNumber recovers a full packet number from its low 32 bits (RFC 9000 §A.3).
func decodePacketNumber(largest int64, truncated uint32) uint64 {
	const window = uint64(1) << 32
	const half = window / 2
	expected := uint64(largest + 1)
	candidate := (expected &^ (window - 1)) | uint64(truncated)
	if candidate+half <= expected && candidate < (1<<62)-window {
		return candidate + window
	}
	if candidate > expected+half && candidate >= window {
		return candidate - window
	}
	return candidate
}

// fragmentSizes splits total bytes into count fragments of ceil(total/count), the last the rest.
func fragmentSizes(total, count uint64) []uint64 {
	size := (total + count - 1) / count
	sizes := make([]uint64, count)
	for i := range sizes {
		sizes[i] = size
	}
	sizes[count-1] = total - size*(count-1)
	return sizes
}
