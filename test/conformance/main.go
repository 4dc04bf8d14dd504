// conformance: a bun-rudp client written from docs/PROTOCOL.md alone. It runs one named case
// against a running server and prints "PASS <case>: <detail>" or "FAIL <case>: <why>".
//
//	conformance -server 127.0.0.1:7700 -metrics http://127.0.0.1:9100 -case handshake
//	conformance -list
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"time"
)

type caseContext struct {
	server  string
	metrics string
	spec    string
	seed    int64
}

type caseFunc func(ctx caseContext) (string, error)

func main() {
	server := flag.String("server", "127.0.0.1:7700", "server UDP address")
	metrics := flag.String("metrics", "", "server metrics base URL (for /stats)")
	spec := flag.String("spec", "", "path of docs/PROTOCOL.md (for the vectors case)")
	name := flag.String("case", "", "case to run")
	seed := flag.Int64("seed", 1, "seed for IDs, payloads and loss")
	list := flag.Bool("list", false, "print the case names")
	flag.Parse()
	if *list {
		names := make([]string, 0, len(cases))
		for n := range cases {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	run, ok := cases[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown case %q: run with -list for the names\n", *name)
		os.Exit(2)
	}
	started := time.Now()
	detail, err := run(caseContext{server: *server, metrics: *metrics, spec: *spec, seed: *seed})
	elapsed := time.Since(started).Round(time.Millisecond)
	if err != nil {
		fmt.Printf("FAIL %s (%v): %v\n", *name, elapsed, err)
		os.Exit(1)
	}
	fmt.Printf("PASS %s (%v): %s\n", *name, elapsed, detail)
}
