// Delivery cases: each mode's receiver rule (§4 table), mixed modes on one channel,
// fragmentation to 100 KB, and exactly-once in order under 10 % loss each way.
package main

import (
	"bytes"
	"fmt"
	"time"
)

const perModeMessages = 20

// caseMode sends IDs 1, 0, 2, 3, ... (the first two swapped) in one mode on its own channel and
// judges the server's receiver rule by its echoes.
func caseMode(mode byte) caseFunc {
	return func(ctx caseContext) (string, error) {
		c, _, err := connect(ctx, options{})
		if err != nil {
			return "", err
		}
		defer c.close()
		channel := byte(10 + mode)
		order := []uint32{1, 0}
		for i := uint32(2); i < perModeMessages; i++ {
			order = append(order, i)
		}
		for _, seq := range order {
			c.sendMessageAs(channel, mode, uint64(seq), numbered(c.rng, seq, 100))
		}
		last := func() bool {
			for _, d := range c.deliveredOn(channel) {
				if seqOf(d) == perModeMessages-1 {
					return true
				}
			}
			return false
		}
		if !c.runUntil(2*time.Second, last) {
			return "", fmt.Errorf("the echo of the last message (ID %d) did not come within 2 s; got %d echoes", perModeMessages-1, len(c.deliveredOn(channel)))
		}
		c.runUntil(100*time.Millisecond, func() bool { return false }) // late or duplicate echoes
		got := c.deliveredOn(channel)
		seqs := make([]uint32, len(got))
		count := map[uint32]int{}
		for i, d := range got {
			seqs[i] = seqOf(d)
			count[seqs[i]]++
		}
		for s, n := range count {
			if n > 1 {
				return "", fmt.Errorf("message %d echoed %d times: %v", s, n, seqs)
			}
		}
		if err := judgeMode(mode, seqs, count); err != nil {
			return "", err
		}
		if err := checkViolations(c); err != nil {
			return "", err
		}
		return fmt.Sprintf("sent IDs 1,0,2..%d in mode %d; echoes (mode %d) in order %v", perModeMessages-1, mode, got[0].mode, seqs), nil
	}
}

func judgeMode(mode byte, seqs []uint32, count map[uint32]int) error {
	switch mode {
	case modeReliableOrdered:
		for i, s := range seqs {
			if s != uint32(i) || len(seqs) != perModeMessages {
				return fmt.Errorf("reliable-ordered: delivered in order %v, want 0..%d (ID 1 held until 0 came)", seqs, perModeMessages-1)
			}
		}
	case modeReliableUnordered:
		if len(seqs) != perModeMessages || seqs[0] != 1 {
			return fmt.Errorf("reliable-unordered: echoes %v, want all %d with ID 1 first (delivered at once)", seqs, perModeMessages)
		}
	case modeUnreliable:
		if count[0] != 1 || count[1] != 1 {
			return fmt.Errorf("unreliable: IDs 0 and 1 must both be delivered (no ordering); echoes %v", seqs)
		}
	case modeUnreliableSequenced:
		if count[0] != 0 {
			return fmt.Errorf("unreliable-sequenced: ID 0 after ID 1 must be dropped as stale; echoes %v", seqs)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				return fmt.Errorf("unreliable-sequenced: echoes not increasing: %v", seqs)
			}
		}
	}
	return nil
}

// caseMixedModes interleaves all four modes on one channel (messageId per channel and mode).
func caseMixedModes(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	const channel = 20
	modes := []byte{modeReliableOrdered, modeUnreliable, modeReliableOrdered, modeReliableUnordered, modeUnreliableSequenced}
	sentMode := map[uint32]byte{}
	seq := uint32(0)
	for round := 0; round < 5; round++ {
		for _, m := range modes {
			c.send(channel, m, numbered(c.rng, seq, 64))
			sentMode[seq] = m
			seq++
		}
	}
	reliableEchoed := func() bool {
		n := 0
		for _, d := range c.deliveredOn(channel) {
			if m := sentMode[seqOf(d)]; m == modeReliableOrdered || m == modeReliableUnordered {
				n++
			}
		}
		return n == 15
	}
	if !c.runUntil(3*time.Second, reliableEchoed) {
		return "", fmt.Errorf("of 15 reliable messages mixed with unreliable ones on one channel, %d echoes came in 3 s (ordered delivery stalled?)", len(c.deliveredOn(channel)))
	}
	c.runUntil(100*time.Millisecond, func() bool { return false })
	var ordered []uint32
	seen := map[uint32]bool{}
	for _, d := range c.deliveredOn(channel) {
		s := seqOf(d)
		if seen[s] {
			return "", fmt.Errorf("message %d echoed twice", s)
		}
		seen[s] = true
		if sentMode[s] == modeReliableOrdered {
			ordered = append(ordered, s)
		}
	}
	for i := 1; i < len(ordered); i++ {
		if ordered[i] < ordered[i-1] {
			return "", fmt.Errorf("reliable-ordered messages echoed out of order: %v", ordered)
		}
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("25 messages in 4 modes on channel %d: %d echoes, the 10 reliable-ordered in order", channel, len(seen)), nil
}

// caseFragmentation echoes messages of 1101 bytes to 100 KiB, reliable and unreliable.
func caseFragmentation(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{})
	if err != nil {
		return "", err
	}
	defer c.close()
	sizes := []int{1101, 2400, 10_000, 65_536, 102_400}
	sent := map[uint32][]byte{}
	for i, size := range sizes {
		p := numbered(c.rng, uint32(i), size)
		sent[uint32(i)] = p
		c.send(30, modeReliableOrdered, p)
	}
	unreliable := numbered(c.rng, 99, 3000)
	c.send(31, modeUnreliable, unreliable)
	ok := c.runUntil(5*time.Second, func() bool { return len(c.deliveredOn(30)) == len(sizes) && len(c.deliveredOn(31)) == 1 })
	if !ok {
		return "", fmt.Errorf("echoes after 5 s: %d of %d reliable, %d of 1 unreliable fragmented", len(c.deliveredOn(30)), len(sizes), len(c.deliveredOn(31)))
	}
	for _, d := range c.deliveredOn(30) {
		if !bytes.Equal(d.payload, sent[seqOf(d)]) {
			return "", fmt.Errorf("echo of message %d (%d bytes) differs (%d bytes)", seqOf(d), len(sent[seqOf(d)]), len(d.payload))
		}
	}
	if !bytes.Equal(c.deliveredOn(31)[0].payload, unreliable) {
		return "", fmt.Errorf("echo of the unreliable 3000-byte message differs")
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("reliable-ordered %v bytes and a 3000-byte unreliable message echoed intact (server fragments follow the size formula)", sizes), nil
}

// caseLoss drops a seeded 10 % of DATA datagrams each way and expects every echo exactly once, in order.
func caseLoss(ctx caseContext) (string, error) {
	c, _, err := connect(ctx, options{recvLoss: 0.1, sendLoss: 0.1})
	if err != nil {
		return "", err
	}
	defer c.close()
	const n = 300
	sent := make([][]byte, n)
	for i := range sent {
		size := 10 + c.rng.Intn(600)
		if i%10 == 0 {
			size = 2000 + c.rng.Intn(2000) // fragmented
		}
		sent[i] = numbered(c.rng, uint32(i), size)
		c.send(40, modeReliableOrdered, sent[i])
	}
	if !c.runUntil(10*time.Second, func() bool { return len(c.deliveredOn(40)) >= n }) {
		return "", fmt.Errorf("%d of %d echoes after 10 s under 10%% loss", len(c.deliveredOn(40)), n)
	}
	c.runUntil(200*time.Millisecond, func() bool { return false })
	got := c.deliveredOn(40)
	if len(got) != n {
		return "", fmt.Errorf("%d echoes for %d messages (duplicates delivered by the server)", len(got), n)
	}
	for i, d := range got {
		if !bytes.Equal(d.payload, sent[i]) {
			return "", fmt.Errorf("echo %d is message %d: not in order or altered", i, seqOf(d))
		}
	}
	if err := checkViolations(c); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d messages exactly once in order; dropped %d sent and %d received DATA datagrams (seed %d), %d duplicate packets from the server", n, c.droppedByLossOut, c.droppedByLossIn, ctx.seed, c.duplicatesReceived), nil
}
