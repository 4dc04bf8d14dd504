// KCP peer for the bun-rudp load benchmarks: plain KCP over kcp-go (no FEC, no encryption),
// nodelay mode (1, 10 ms, 2, no congestion control), windows of 1024 segments.
//
//	kcp-peer server -addr 127.0.0.1:0 [-sink]
//	kcp-peer client -addr HOST:PORT -connections N -rate MSG_PER_S -size BYTES -duration S [-drain S] [-first-connection I]
//
// The client runs the same open-loop workload as bench/loadgen (same 24-byte message header,
// latency from the intended send time) and prints one JSON object in the WorkerResult shape
// of bench/loadgen/results.ts, with latencies as sparse [valueUs, count] buckets.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

const headerBytes = 24

func tune(s *kcp.UDPSession) {
	s.SetNoDelay(1, 10, 2, 1)
	s.SetWindowSize(1024, 1024)
	s.SetStreamMode(false)
	s.SetWriteDelay(false)
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "server" && os.Args[1] != "client") {
		fmt.Fprintln(os.Stderr, "usage: kcp-peer server|client [flags] (-h for flags)")
		os.Exit(2)
	}
	if os.Args[1] == "server" {
		runServer(os.Args[2:])
	} else {
		runClient(os.Args[2:])
	}
}

func runServer(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	sink := fs.Bool("sink", false, "count messages instead of echoing them")
	fs.Parse(args)
	listener, err := kcp.ListenWithOptions(*addr, nil, 0, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	host, port := splitAddr(listener.Addr().String())
	out, _ := json.Marshal(map[string]any{"listening": map[string]any{"host": host, "port": port}, "pid": os.Getpid()})
	fmt.Println(string(out))
	var received, sessions atomic.Uint64
	go func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
		out, _ := json.Marshal(map[string]any{"counters": map[string]any{"received": received.Load(), "sessions": sessions.Load()}})
		fmt.Println(string(out))
		os.Exit(0)
	}()
	for {
		session, err := listener.AcceptKCP()
		if err != nil {
			continue
		}
		sessions.Add(1)
		tune(session)
		go func(s *kcp.UDPSession) {
			buf := make([]byte, 1<<16)
			for {
				n, err := s.Read(buf)
				if err != nil {
					s.Close()
					return
				}
				received.Add(1)
				if !*sink {
					if _, err := s.Write(buf[:n]); err != nil {
						s.Close()
						return
					}
				}
			}
		}(session)
	}
}

func splitAddr(text string) (string, int) {
	m := regexp.MustCompile(`^\[?(.*?)\]?:(\d+)$`).FindStringSubmatch(text)
	if m == nil {
		return text, 0
	}
	port, _ := strconv.Atoi(m[2])
	return m[1], port
}

// histogram: log-linear buckets, exact below 2048 us, ~0.1% wide above; atomic counts.
type histogram struct{ counts []uint64 }

const histogramBuckets = 2048 + 40*1024

func bucketOf(v uint64) int {
	if v < 2048 {
		return int(v)
	}
	e := bits.Len64(v) - 11
	mantissa := v >> uint(e)
	index := 2048 + (e-1)*1024 + int(mantissa-1024)
	if index >= histogramBuckets {
		return histogramBuckets - 1
	}
	return index
}

func valueOf(index int) uint64 {
	if index < 2048 {
		return uint64(index)
	}
	e := (index-2048)/1024 + 1
	mantissa := uint64((index-2048)%1024 + 1024)
	return mantissa<<uint(e) + (uint64(1)<<uint(e))/2
}

func (h *histogram) record(us float64) {
	if us < 1 {
		us = 1
	}
	atomic.AddUint64(&h.counts[bucketOf(uint64(us))], 1)
}

func (h *histogram) sparse() [][2]uint64 {
	out := [][2]uint64{}
	for i := range h.counts {
		if c := atomic.LoadUint64(&h.counts[i]); c > 0 {
			out = append(out, [2]uint64{valueOf(i), c})
		}
	}
	return out
}

type tracker struct {
	bitmaps   [][]byte
	perConn   int
	unique    atomic.Uint64
	dups      atomic.Uint64
	untracked atomic.Uint64
}

func runClient(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "server address")
	connections := fs.Int("connections", 1, "connections")
	rate := fs.Float64("rate", 1000, "messages per second over all connections (0 = idle)")
	size := fs.Int("size", 64, "message bytes (>= 24)")
	duration := fs.Float64("duration", 5, "send phase in seconds")
	drain := fs.Float64("drain", 2, "seconds to wait for in-flight messages")
	first := fs.Int("first-connection", 0, "global index of the first connection")
	fs.Parse(args)
	if *size < headerBytes || *connections < 1 {
		fmt.Fprintln(os.Stderr, "size must be >= 24 and connections >= 1")
		os.Exit(2)
	}
	base := time.Now()
	nowUs := func() float64 { return float64(time.Since(base).Nanoseconds()) / 1000 }
	rtt := &histogram{counts: make([]uint64, histogramBuckets)}
	service := &histogram{counts: make([]uint64, histogramBuckets)}
	total := int(*rate * *duration)
	perConn := total / *connections + 16
	tr := &tracker{perConn: perConn}
	errors := []string{}
	var errorsMu sync.Mutex
	addError := func(msg string) {
		errorsMu.Lock()
		if len(errors) < 20 {
			errors = append(errors, msg)
		}
		errorsMu.Unlock()
	}
	sessions := make([]*kcp.UDPSession, 0, *connections)
	failures := 0
	var lastReceiveUs atomic.Uint64
	for i := 0; i < *connections; i++ {
		s, err := kcp.DialWithOptions(*addr, nil, 0, 0)
		if err != nil {
			failures++
			addError("dial: " + err.Error())
			continue
		}
		tune(s)
		sessions = append(sessions, s)
		tr.bitmaps = append(tr.bitmaps, make([]byte, (perConn+7)/8))
	}
	var stopping atomic.Bool
	for local, s := range sessions {
		go func(local int, s *kcp.UDPSession) {
			buf := make([]byte, 1<<16)
			bitmap := tr.bitmaps[local]
			for {
				n, err := s.Read(buf)
				if err != nil {
					if !stopping.Load() {
						addError("read: " + err.Error())
					}
					return
				}
				now := nowUs()
				if n < headerBytes || int(binary.LittleEndian.Uint32(buf[4:])) != *first+local {
					tr.untracked.Add(1)
					continue
				}
				seq := int(binary.LittleEndian.Uint32(buf[0:]))
				if seq >= perConn {
					tr.untracked.Add(1)
					continue
				}
				if bitmap[seq>>3]&(1<<(seq&7)) != 0 {
					tr.dups.Add(1)
					continue
				}
				bitmap[seq>>3] |= 1 << (seq & 7)
				tr.unique.Add(1)
				lastReceiveUs.Store(uint64(now))
				rtt.record(now - math.Float64frombits(binary.LittleEndian.Uint64(buf[8:])))
				service.record(now - math.Float64frombits(binary.LittleEndian.Uint64(buf[16:])))
			}
		}(local, s)
	}
	var rusageStart syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &rusageStart)
	fmt.Println(`{"phase":"sending"}`)
	startUs := nowUs() + 1000
	sent := 0
	if total > 0 && len(sessions) > 0 {
		interval := 1e6 / *rate
		msg := make([]byte, *size)
		for i := headerBytes; i < *size; i++ {
			msg[i] = byte(i)
		}
		seqs := make([]uint32, len(sessions))
		endUs := startUs + *duration*1e6
		// A Write blocks while the send window is full: the deadline bounds it to the send phase.
		writeDeadline := base.Add(time.Duration(endUs * 1000))
		for _, s := range sessions {
			s.SetWriteDeadline(writeDeadline)
		}
		for sent < total {
			now := nowUs()
			if now >= endUs {
				break // on time, like the TypeScript client: the rest is reported as notSent
			}
			due := int((now-startUs)/interval) + 1
			if due > total {
				due = total
			}
			for ; sent < due; sent++ {
				if sent%256 == 0 && nowUs() > endUs {
					break
				}
				local := sent % len(sessions)
				binary.LittleEndian.PutUint32(msg[0:], seqs[local])
				binary.LittleEndian.PutUint32(msg[4:], uint32(*first+local))
				binary.LittleEndian.PutUint64(msg[8:], math.Float64bits(startUs+float64(sent)*interval))
				binary.LittleEndian.PutUint64(msg[16:], math.Float64bits(nowUs()))
				if _, err := sessions[local].Write(msg); err != nil {
					// Past the write deadline (or a dead session): this message was not sent.
					if nowUs() <= endUs {
						addError("write: " + err.Error())
					}
					break
				}
				seqs[local]++
			}
			next := startUs + float64(sent)*interval
			if wait := next - nowUs(); wait > 0 {
				time.Sleep(time.Duration(wait * 1000))
			}
		}
	} else {
		time.Sleep(time.Duration(*duration * float64(time.Second)))
	}
	deadline := time.Now().Add(time.Duration(*drain * float64(time.Second)))
	for time.Now().Before(deadline) && int(tr.unique.Load()) < sent {
		time.Sleep(20 * time.Millisecond)
	}
	endUs := float64(lastReceiveUs.Load())
	if sent == 0 || endUs < startUs {
		endUs = startUs + *duration*1e6
	}
	var rusage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &rusage)
	stopping.Store(true)
	for _, s := range sessions {
		s.Close()
	}
	result := map[string]any{
		"system":                 "kcp",
		"connections":            len(sessions),
		"connectFailures":        failures,
		"connectionsClosedEarly": 0,
		"sent":                   sent,
		"notSent":                total - sent,
		"received":               tr.unique.Load(),
		"duplicates":             tr.dups.Load(),
		"untracked":              tr.untracked.Load(),
		"backpressureWaits":      0,
		"sizeBytes":              *size,
		"activeSeconds":          (endUs - startUs) / 1e6,
		"rttBucketsUs":           rtt.sparse(),
		"serviceBucketsUs":       service.sparse(),
		"cpuUserUs":              (rusage.Utime.Nano() - rusageStart.Utime.Nano()) / 1000,
		"cpuSystemUs":            (rusage.Stime.Nano() - rusageStart.Stime.Nano()) / 1000,
		"rssBytes":               rssBytes(),
		"transport":              kcpTransport(),
		"errors":                 errors,
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

// kcpTransport reports kcp-go's process-wide segment counters (client side only).
func kcpTransport() map[string]uint64 {
	snmp := kcp.DefaultSnmp.Copy()
	return map[string]uint64{
		"packetsSent":          snmp.OutSegs,
		"packetsRetransmitted": snmp.RetransSegs,
		"packetsLost":          snmp.LostSegs,
	}
}

func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return kb * 1024
}
