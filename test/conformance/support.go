// Helpers the cases share: numbered payloads, waiting for echoes, raw long-header exchanges,
// and the server's /stats counters.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"time"
)

// numbered is a payload of `size` bytes (at least 4) whose first 4 bytes are seq.
func numbered(rng *rand.Rand, seq uint32, size int) []byte {
	if size < 4 {
		size = 4
	}
	b := make([]byte, size)
	rng.Read(b)
	binary.BigEndian.PutUint32(b, seq)
	return b
}

func seqOf(d delivery) uint32 {
	if len(d.payload) < 4 {
		return ^uint32(0)
	}
	return binary.BigEndian.Uint32(d.payload)
}

// deliveredOn returns the messages delivered on a channel, in delivery order.
func (c *client) deliveredOn(channel byte) []delivery {
	var out []delivery
	for _, d := range c.delivered {
		if d.channel == channel {
			out = append(out, d)
		}
	}
	return out
}

// awaitLong waits for a long-header packet of one of the types; nil on timeout.
func (c *client) awaitLong(timeout time.Duration, types ...byte) *longPacket {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		d := c.read(deadline)
		if d == nil {
			return nil
		}
		body, err := openDatagram(d)
		if err != nil {
			c.violation("server datagram failing its %v check", err)
			continue
		}
		if body[0] == typeData {
			continue
		}
		p, err := parseLong(body)
		if err != nil {
			continue
		}
		for _, t := range types {
			if p.typ == t {
				return &p
			}
		}
	}
	return nil
}

// getCookie runs INITIAL -> RETRY for the client's ID and returns the cookie.
func (c *client) getCookie() ([]byte, error) {
	c.writeRaw(buildInitial(protocolVersion, c.id, c.opts.initialMaxData, nil, initialBytes))
	p := c.awaitLong(time.Second, typeRetry)
	if p == nil {
		return nil, fmt.Errorf("no RETRY for a tokenless INITIAL within 1 s")
	}
	r := reader{b: p.body}
	cookie := r.take(int(r.varint()))
	return append([]byte(nil), cookie...), r.err
}

// stats reads a counter path such as "drops.checksum" from the server's /stats (0 if absent).
func stats(metrics string, path ...string) (float64, error) {
	if metrics == "" {
		return 0, fmt.Errorf("no -metrics URL")
	}
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(metrics + "/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var doc any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return 0, err
	}
	for _, p := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return 0, nil
		}
		doc = m[p]
	}
	v, _ := doc.(float64)
	return v, nil
}
